/* The application's log handler: the native log lines handed to a language's own logger (Python
 * logging, System.Logger, ILogger) instead of the console. Reference-counted like the event
 * handler, so replacing it while a server thread is inside it never frees user data under that
 * call. Its own lock (not the server's): sfk_log is reached from code that may hold the server
 * lock, and the handler itself runs with no SDK lock held. */
#include <stdatomic.h>
#include <stdlib.h>

#include "api/errors.h"
#include "api/server.h"
#include "util/log.h"

struct sfk_log_sink {
    sftpkit_log_handler fn;
    void *user;
    void (*destroy_user)(void *);
    atomic_int refs;
};

static void sink_release(struct sfk_log_sink *k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1) {
        if (k->destroy_user)
            k->destroy_user(k->user);
        free(k);
    }
}

SFTPKIT_API int sftpkit_server_set_log_handler(sftpkit_server *s, sftpkit_log_handler fn, void *user,
                                               void (*destroy_user)(void *))
{
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "set_log_handler: NULL server");
    struct sfk_log_sink *k = NULL;
    if (fn) {
        k = calloc(1, sizeof *k);
        if (!k)
            return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        k->fn = fn;
        k->user = user;
        k->destroy_user = destroy_user;
        atomic_init(&k->refs, 1);
    } else if (destroy_user) {
        destroy_user(user); /* nothing will hold it */
    }
    pthread_mutex_lock(&s->log_sink_lock);
    struct sfk_log_sink *old = s->log_sink;
    s->log_sink = k;
    pthread_mutex_unlock(&s->log_sink_lock);
    sink_release(old);
    return sfk_ok();
}

int sfk_log_sink_deliver(sftpkit_server *s, int level, const char *module, const char *message)
{
    pthread_mutex_lock(&s->log_sink_lock);
    struct sfk_log_sink *k = s->log_sink;
    if (k)
        atomic_fetch_add(&k->refs, 1);
    pthread_mutex_unlock(&s->log_sink_lock);
    if (!k)
        return 0;
    k->fn(k->user, s, level, module, message);
    sink_release(k);
    return 1;
}

void sfk_log_sink_destroy(sftpkit_server *s)
{
    pthread_mutex_lock(&s->log_sink_lock);
    struct sfk_log_sink *old = s->log_sink;
    s->log_sink = NULL;
    pthread_mutex_unlock(&s->log_sink_lock);
    sink_release(old);
}
