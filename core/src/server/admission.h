/* Admission control: the limits read at start() (config settings MaxStartups, MaxConnections...,
 * MaxAuthTries, AuthFailure*, SourceBan*, ClientAlive*, DropGraceTime, MaxOpenHandles...) and the
 * per-source-address penalty table shared by all connections of one address. Internal.
 * Everything here runs in O(1) or O(connections) so the accept thread can refuse a flood without
 * starting threads. The source address is the one in sfk_conn.address (a PROXY header may later
 * overwrite it before the checks run again). */
#ifndef SFK_ADMISSION_H
#define SFK_ADMISSION_H

#include <pthread.h>
#include <stdint.h>

#include "sftpkit/sftpkit.h"

typedef struct {
    int start, rate, full; /* MaxStartups; full == 0: off */
} sfk_startups;

/* "start:rate:full" or "N" (= N:100:N) or "0" (off). Returns 0, or -1 when malformed. */
int sfk_startups_parse(const char *text, sfk_startups *out);
/* Whether a new connection is dropped when `unauth` connections are unauthenticated; draw is a
 * uniform random number in [0, 100). */
int sfk_startups_drop(const sfk_startups *m, int unauth, int draw);

typedef struct {
    sfk_startups startups;
    int per_source_startups, max_connections, max_per_address, max_per_user;
    int64_t fail_delay_ms, fail_max_delay_ms, ban_threshold, ban_ms;
    int64_t alive_interval_ms, alive_count_max, drop_grace_ms, socket_timeout_ms;
} sfk_limits;

/* Reads the settings; returns 0 or an error code (a malformed MaxStartups). */
int sfk_limits_load(sftpkit_server *s, sfk_limits *out);

/* The per-source table: a fixed number of slots (hash + short probe, the stalest evicted), so an
 * attacker with many addresses costs bounded memory and only evicts its own old entries. */
#define SFK_SOURCE_SLOTS 4096

typedef struct {
    char address[64];
    int64_t failures;
    int64_t last_failure_ms;
    int64_t banned_until_ms;
} sfk_source;

typedef struct {
    pthread_mutex_t lock;
    sfk_source *slots; /* SFK_SOURCE_SLOTS, allocated on first use */
} sfk_penalty;

void sfk_penalty_init(sfk_penalty *p);
void sfk_penalty_destroy(sfk_penalty *p);
/* Records one failed attempt from address. Returns the delay to impose (ms); *banned is set when
 * this failure reached the ban threshold (or the address is banned already). */
int64_t sfk_penalty_fail(sfk_penalty *p, const sfk_limits *l, const char *address, int64_t now_ms, int *banned);
/* Whether address is banned now. */
int sfk_penalty_banned(sfk_penalty *p, const char *address, int64_t now_ms);

int64_t sfk_now_ms(void);

#endif
