/* The thread-local last error (libgit2's git_error_last model). Internal. */
#ifndef SFK_ERRORS_H
#define SFK_ERRORS_H

#include "sftpkit/sftpkit.h"

/* Records code and a formatted message for the calling thread and returns code, so a failing
 * path reads: return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "port: %lld is out of range", v); */
int sfk_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the calling thread's last error and returns 0 (the success path of an API call). */
int sfk_ok(void);

/* Duplicates a string or records SFTPKIT_ERROR_OUT_OF_MEMORY; NULL input gives "". */
char *sfk_strdup(const char *s);

#endif
