/* Status messages from handlers. A thread-local slot, not server-wide state: the request that a
 * handler serves and the STATUS reply it gets are on the same thread, and the engine clears the
 * slot at every request's start, so concurrent sessions never see each other's text. A pthread
 * key rather than _Thread_local: a thread that ends with a message still pending (an auth
 * handler's, a connection that closes right after a handler set one) frees it on exit. */
#include "api/status_message.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/errors.h"
#include "api/events.h"

/* A client sees this text in its error output: enough for a sentence, never a megabyte. */
#define SFK_STATUS_MESSAGE_MAX 1024

static pthread_key_t pending_key;
static pthread_once_t pending_once = PTHREAD_ONCE_INIT;
static int pending_key_ok;

static void make_key(void)
{
    pending_key_ok = pthread_key_create(&pending_key, free) == 0;
}

static char *pending_get(void)
{
    pthread_once(&pending_once, make_key);
    return pending_key_ok ? pthread_getspecific(pending_key) : NULL;
}

/* Replaces the pending message (freeing the old one); msg NULL clears. Without a key (cannot
 * happen in practice) messages are dropped: the standard text is sent. */
static void pending_set(char *msg)
{
    pthread_once(&pending_once, make_key);
    if (!pending_key_ok) {
        free(msg);
        return;
    }
    char *old = pthread_getspecific(pending_key);
    if (old == msg)
        return;
    free(old);
    pthread_setspecific(pending_key, msg);
}

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

char *sfk_status_message_copy(const char *message, int *oom)
{
    *oom = 0;
    if (!message || !*message)
        return NULL;
    size_t n = utf8_prefix(message, SFK_STATUS_MESSAGE_MAX);
    char *copy = malloc(n + 1);
    if (!copy) {
        *oom = 1;
        return NULL;
    }
    memcpy(copy, message, n);
    copy[n] = '\0';
    return copy;
}

SFTPKIT_API int sftpkit_event_set_status_message(sftpkit_event *ev, const char *message)
{
    if (!ev)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "event_set_status_message: NULL event");
    int oom;
    char *copy = sfk_status_message_copy(message, &oom);
    if (oom)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    free(ev->status_message);
    ev->status_message = copy;
    return sfk_ok();
}

void sfk_status_message_adopt(sftpkit_event *ev)
{
    if (!ev->status_message)
        return;
    pending_set(ev->status_message);
    ev->status_message = NULL;
}

const char *sfk_status_message_pending(void)
{
    return pending_get();
}

void sfk_status_message_clear(void)
{
    if (pending_get())
        pending_set(NULL);
}

char *sfk_status_message_take(void)
{
    char *msg = pending_get();
    if (msg)
        pthread_setspecific(pending_key, NULL); /* ownership moves to the caller */
    return msg;
}

void sfk_status_message_give(char *msg)
{
    pending_set(msg);
}
