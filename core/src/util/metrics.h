/* Server-wide operational counters and latency histograms (metrics.c), read as Prometheus text or
 * a JSON snapshot through sftpkit_server_metrics_prometheus/_json. Internal.
 *
 * Cost model: every update is one or two relaxed atomic adds on fixed arrays allocated with the
 * server; no lock, no allocation, no per-connection state. Counters are aggregates, so relaxed
 * ordering is enough: a reader sees each value exact, but not a snapshot of all values at one
 * instant (documented). Every function accepts s == NULL (engine unit tests) and does nothing. */
#ifndef SFK_METRICS_H
#define SFK_METRICS_H

#include <stdint.h>

#include "sftpkit/sftpkit.h"

typedef enum {
    SFK_REFUSED_ON_ACCEPT = 0, /* vetoed by the application */
    SFK_REFUSED_PROXY,         /* PROXY protocol: untrusted, missing or malformed header */
    SFK_REFUSED_STOPPING,      /* arrived while stop() ran */
    SFK_REFUSED_ADMISSION,     /* an admission-control limit (also counted by action name) */
    SFK_REFUSED_COUNT
} sfk_refused_reason;

typedef enum { SFK_LOGIN_PASSWORD = 0, SFK_LOGIN_PUBLICKEY, SFK_LOGIN_KBDINT, SFK_LOGIN_METHODS } sfk_login_method;
typedef enum { SFK_LOGIN_SUCCESS = 0, SFK_LOGIN_PARTIAL, SFK_LOGIN_FAILURE, SFK_LOGIN_RESULTS } sfk_login_result;

struct sfk_metrics;

struct sfk_metrics *sfk_metrics_new(void);
void sfk_metrics_free(struct sfk_metrics *m);

void sfk_metrics_connection_accepted(sftpkit_server *s);
void sfk_metrics_connection_refused(sftpkit_server *s, sfk_refused_reason why);
void sfk_metrics_connection_closed(sftpkit_server *s); /* one accepted connection ended */
void sfk_metrics_login(sftpkit_server *s, sfk_login_method method, sfk_login_result result);
void sfk_metrics_bytes(sftpkit_server *s, uint64_t in, uint64_t out); /* SFTP channel payload */
/* One SFTP request: its packet type, the v3 status of its reply (0 for a non-STATUS reply) and how
 * long the engine took for it (handlers included). */
void sfk_metrics_request(sftpkit_server *s, int packet_type, int status, int64_t micros);
/* Time the application's event handler took for one event. */
void sfk_metrics_handler(sftpkit_server *s, int64_t micros);

/* Admission control (issue 11's limits and penalties): counts one action under its name,
 * exported as sftpkit_admission_actions_total{action="<name>"}. `action` must be a string that
 * lives as long as the server (a literal), [a-z0-9_] only, e.g. "max_connections",
 * "per_source_max_startups", "auth_failure_delay". Up to 32 distinct names; more are counted as
 * "other". Lock-free: the first use of a name claims a slot with a compare-and-swap. Call
 * sfk_metrics_connection_refused(s, SFK_REFUSED_ADMISSION) too when the action refuses a
 * connection. */
void sfk_metrics_admission(sftpkit_server *s, const char *action);

/* Monotonic microseconds, for the latency measurements. */
int64_t sfk_metrics_now_us(void);

#endif
