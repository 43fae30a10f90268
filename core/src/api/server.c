/* The server handle: creation with every documented default, and teardown. */
#include "api/server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "api/errors.h"
#include "api/events.h"
#include "ssh/host_keys.h"
#include "ssh/totp_replay.h"
#include "util/audit.h"
#include "util/log.h"
#include "util/metrics.h"

SFTPKIT_API const char *sftpkit_version(void)
{
    return SFK_LIBRARY_VERSION;
}

SFTPKIT_API sftpkit_server *sftpkit_server_new(void)
{
    sftpkit_server *s = calloc(1, sizeof *s);
    if (!s) {
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    static atomic_uint_fast64_t next_serial = 1;
    s->serial = atomic_fetch_add(&next_serial, 1);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->log_sink_lock, NULL);
    if (sfk_props_init(s) || sfk_config_init(s) || !(s->metrics = sfk_metrics_new())) {
        sftpkit_server_free(s);
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    sfk_ok();
    return s;
}

static void free_now(sftpkit_server *s)
{
    sfk_runtime_destroy(s); /* stops the server: no connection thread survives this line */
    sfk_sftp_registry_destroy(s);
    sfk_totp_destroy(s);
    sfk_events_destroy(s);
    sfk_host_keys_destroy(s);
    sfk_log_destroy(s);
    sfk_log_sink_destroy(s);
    sfk_config_destroy(s);
    sfk_props_destroy(s);
    sfk_metrics_free(s->metrics);
    sfk_audit_destroy(s);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->log_sink_lock);
    free(s);
}

/* A free asked for on one of the server's own threads (inside a handler) runs here, on a thread
 * of its own: its stop joins the asking thread, so the server outlives the handler and everything
 * that thread does with the server after the handler returns. */
static void *deferred_free(void *arg)
{
    free_now(arg);
    return NULL;
}

SFTPKIT_API void sftpkit_server_free(sftpkit_server *s)
{
    if (!s)
        return;
    if (!sfk_runtime_on_own_thread(s)) {
        free_now(s);
        return;
    }
    pthread_t t;
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (!rc) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&t, &attr, deferred_free, s);
        pthread_attr_destroy(&attr);
    }
    if (rc) {
        /* Freeing here would free the server under the running handler: keeping it is the only
         * safe choice left. The server still stops, so it holds no port or connection. */
        sfk_log(s, SFK_LOG_ERROR, "server",
                "free from a handler: no thread to finish it (%d); the server is stopped, not freed", rc);
        sftpkit_server_stop(s);
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "free from a handler: cannot start the finishing thread");
        return;
    }
    sfk_ok();
}
