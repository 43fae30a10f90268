#include "api/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fixed buffer per thread: the message must outlive the call that set it (the caller reads
 * it afterwards) and must never need freeing at thread exit. */
static _Thread_local int last_code;
static _Thread_local char last_message[1024];

int sfk_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    last_code = code;
    return code;
}

int sfk_ok(void)
{
    last_code = 0;
    last_message[0] = '\0';
    return 0;
}

char *sfk_strdup(const char *s)
{
    char *copy = strdup(s ? s : "");
    if (!copy)
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    return copy;
}

SFTPKIT_API int sftpkit_last_error_code(void)
{
    return last_code;
}

SFTPKIT_API const char *sftpkit_last_error_message(void)
{
    return last_message;
}

SFTPKIT_API void sftpkit_free(void *p)
{
    free(p);
}
