/* The server handle's layout, shared by the core's modules (never by the public headers). */
#ifndef SFK_SERVER_H
#define SFK_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "api/config.h"
#include "api/props.h"
#include "sftpkit/sftpkit.h"
#include "sftpkit/sftpkit_consts.h"

struct sfk_handler;       /* api/events.c */
struct sfk_runtime;       /* server/: listener, connection threads, client registry */
struct sfk_sftp_registry; /* sftp/: live engines by connection id (client buffer, file entry) */
struct sfk_logger;        /* util/log.c */
struct sfk_log_sink;      /* util/log_sink.c: the application's log handler */
struct sfk_host_keys;     /* ssh/host_keys.c: the server_key_* slots' keys */
struct sfk_metrics;       /* util/metrics.c: server-wide counters (atomics, no lock) */
struct sfk_audit;         /* util/audit.c: the audit log file */

struct sftpkit_server {
    /* Guards values, lists, config and handler. Never held while user code (an event handler)
     * runs, so handlers may call back into the server. */
    pthread_mutex_t lock;
    sfk_value values[SFK_PROP_COUNT]; /* scalar properties; list properties live in lists */
    sfk_list_store lists[SFK_LIST_COUNT];
    sfk_config_store config;
    struct sfk_handler *handler;
    /* unsubscribed[id] != 0: event id never reaches the handler. Inverted so that calloc'd
     * servers start with every event subscribed. Read without the lock (atomic). */
    _Atomic unsigned char unsubscribed[SFTPKIT_EVENT_COUNT + 1];
    struct sfk_logger *logger;
    /* Its own lock: sfk_log may be called with `lock` held, and the sink is never called under either. */
    pthread_mutex_t log_sink_lock;
    struct sfk_log_sink *log_sink;
    struct sfk_host_keys *host_keys;
    struct sfk_runtime *runtime;
    struct sfk_sftp_registry *sftp;
    uint64_t serial;                 /* unique per server in the process: tells context frames apart (api/context.c) */
    struct sfk_totp_used *totp_used; /* ssh/totp_replay.c */
    struct sfk_metrics *metrics;
    struct sfk_audit *audit;
};

static inline void sfk_lock(const sftpkit_server *s)
{
    pthread_mutex_lock(&((sftpkit_server *)s)->lock);
}

static inline void sfk_unlock(const sftpkit_server *s)
{
    pthread_mutex_unlock(&((sftpkit_server *)s)->lock);
}

/* Is the calling thread one of s's own (a connection thread, or the accept thread running
 * on_accept)? Such a thread cannot free s: the free joins it. */
int sfk_runtime_on_own_thread(sftpkit_server *s);

/* Subsystem teardown called by sftpkit_server_free (each tolerates never having started). */
void sfk_runtime_destroy(sftpkit_server *s);
void sfk_sftp_registry_destroy(sftpkit_server *s);

#endif
