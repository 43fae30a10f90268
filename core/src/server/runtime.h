/* The running server: listener, connection threads, client registry. Internal.
 * Thread model (libssh allows one thread per session): the accept thread owns the listening
 * sockets; each connection thread owns its ssh_session and channel exclusively. Other threads
 * (stop, drop_client, pin_client) only read snapshots under the runtime lock, set flags, or
 * shutdown() the socket — never call libssh on a session they do not own. */
#ifndef SFK_RUNTIME_H
#define SFK_RUNTIME_H

#include <libssh/libssh.h>
#include <libssh/server.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "server/admission.h"
#include "server/fd_budget.h"
#include "sftpkit/sftpkit.h"

enum { SFK_DROP_NONE = 0, SFK_DROP_GRACEFUL = 1, SFK_DROP_FORCED = 2 };

/* What pin_client reports; filled by the connection thread, read under the runtime lock. */
typedef struct {
    char *client_key_algorithm, *client_key_fingerprint, *client_software, *close_reason;
    char *compression_in, *compression_out, *cipher_in, *cipher_out, *mac_in, *mac_out;
    char *kex_algorithm, *kex_lines, *public_key_algorithm, *server_key_fingerprint;
    int64_t client_key_bits, server_key_bits, kex_bits, key_bits_in, key_bits_out;
} sfk_pin_info;

typedef struct sfk_conn {
    int64_t id;
    char address[64];
    int port;
    int fd;
    pthread_t thread;
    sftpkit_server *server;
    struct sfk_runtime *rt;
    atomic_int drop;                         /* SFK_DROP_* requested by another thread */
    atomic_int closed;                       /* the thread has finished */
    atomic_int in_kex;                       /* in ssh_handle_key_exchange, which nothing but shutdown() interrupts */
    atomic_int gone;                         /* the socket is closed and on_disconnect is firing: no longer listed or
                                                droppable, but still pinnable (a handler of on_disconnect may pin it) */
    atomic_int authenticated;                /* counts against MaxStartups until set */
    char user[128];                          /* the authenticated user (guarded by rt->lock) */
    atomic_int handles;                      /* open SFTP handles (MaxOpenHandlesPerUser) */
    atomic_int writing;                      /* in ssh_channel_write: the watchdog looks for a stall */
    atomic_llong drop_at_ms;                 /* when a graceful drop was asked (DropGraceTime) */
    atomic_int stalled;                      /* the watchdog ended a write that made no progress */
    int64_t watch_out_bytes, watch_since_ms; /* the watchdog's own (accept thread only) */
    atomic_int drain; /* stop() with DrainTimeout: end once no file is open (the thread decides) */
    struct ssh_counter_struct socket_counter, raw_counter;
    sfk_pin_info info; /* guarded by rt->lock */
    struct sfk_conn *next;
} sfk_conn;

struct sfk_runtime {
    pthread_mutex_t lock; /* guards conns, info of each conn */
    pthread_cond_t changed;
    int listen_fd[2];
    int nlisten;
    int wake[2]; /* pipe that wakes the accept thread */
    pthread_t accept_thread;
    int accept_unjoined; /* stop() ran on the accept thread (on_accept) and could not join it */
    int running;
    /* start() or stop() is running (guarded by lock; `changed` is signalled when it ends): a
     * second stop() from an application thread waits for it; one from a server thread (a
     * handler) returns at once, because the stop in progress is joining that very thread. */
    int life_busy;
    atomic_int stopping;
    ssh_bind bind;
    pthread_mutex_t bind_lock; /* ssh_bind_accept_fd on one shared bind, one at a time */
    char *moduli_path;         /* the bind's filtered moduli file (ssh/moduli.c), NULL = the system one */
    sfk_conn *conns;
    int64_t next_id; /* increasing across restarts */
    /* settings fixed at start (frozen while active) */
    int handshake_timeout_s;
    sfk_limits limits;
    sfk_penalty penalty; /* per source address, shared by its connections */
    sfk_fd_budget fds;
    unsigned rand_state;                              /* MaxStartups' random drop (accept thread only) */
    int64_t refused_logged_ms, refused_unlogged;      /* refusals are logged at most once a second */
    int64_t accept_pause_until_ms, accept_backoff_ms; /* EMFILE back-off */
    int external_sign;   /* holds the external-sign provider preference (external host key served) */
    int proxy_mode;      /* ProxyProtocol (server/proxy_receive.h) */
    char *proxy_trusted; /* ProxyProtocolTrustedAddresses (malloc'd) */
};

/* watchdog.c: run by the accept thread a few times a second. Ends writes that made no progress
 * for socket_timeout and graceful drops older than DropGraceTime (shutdown(): the owner cleans
 * up). Called with rt->lock held. */
void sfk_watchdog_tick(struct sfk_runtime *rt, int64_t now_ms);

/* Whether the connection's OPEN may take one more descriptor; delta -1 gives one back. */
int sfk_conn_handle_quota(void *conn, int delta);

/* listener.c: marks the calling thread's connection (stop() from a handler must not join it) */
void sfk_runtime_set_current(sfk_conn *c);

/* connection.c */
void *sfk_connection_main(void *arg);
void sfk_pin_info_clear(sfk_pin_info *info);

/* auth.c: installs the authentication callbacks and runs the pre-channel phase. */
typedef struct sfk_auth_state sfk_auth_state;

#endif
