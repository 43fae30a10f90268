/* Status messages from handlers. A thread-local slot, not server-wide state: the request that a
 * handler serves and the STATUS reply it gets are on the same thread, and the engine clears the
 * slot at every request's start, so concurrent sessions never see each other's text. */
#include "api/status_message.h"

#include <stdlib.h>
#include <string.h>

#include "api/errors.h"
#include "api/events.h"

/* A client sees this text in its error output: enough for a sentence, never a megabyte. */
#define SFK_STATUS_MESSAGE_MAX 1024

static _Thread_local char *pending;

/* Cuts at most max bytes off s without splitting a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

SFTPKIT_API int sftpkit_event_set_status_message(sftpkit_event *ev, const char *message)
{
    if (!ev)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "event_set_status_message: NULL event");
    char *copy = NULL;
    if (message && *message) {
        size_t n = utf8_prefix(message, SFK_STATUS_MESSAGE_MAX);
        copy = malloc(n + 1);
        if (!copy)
            return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        memcpy(copy, message, n);
        copy[n] = '\0';
    }
    free(ev->status_message);
    ev->status_message = copy;
    return sfk_ok();
}

void sfk_status_message_adopt(sftpkit_event *ev)
{
    if (!ev->status_message)
        return;
    free(pending);
    pending = ev->status_message;
    ev->status_message = NULL;
}

const char *sfk_status_message_pending(void)
{
    return pending;
}

void sfk_status_message_clear(void)
{
    free(pending);
    pending = NULL;
}
