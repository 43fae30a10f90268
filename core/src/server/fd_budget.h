/* The server's file descriptor budget (MaxOpenHandles, MaxOpenHandlesPerUser,
 * FileDescriptorReserve): a server-wide cap on SFTP handles derived from RLIMIT_NOFILE, room kept
 * for connections and logging, and the spare descriptor that lets the listener shed a connection
 * when accept() fails with EMFILE/ENFILE instead of spinning on it. Internal. */
#ifndef SFK_FD_BUDGET_H
#define SFK_FD_BUDGET_H

#include <stdatomic.h>
#include <stdint.h>

#include "sftpkit/sftpkit.h"

typedef struct {
    int64_t soft;                 /* RLIMIT_NOFILE soft limit at start() */
    int64_t base;                 /* descriptors already open at start() */
    int64_t reserve;              /* FileDescriptorReserve */
    int64_t handle_cap, user_cap; /* effective MaxOpenHandles, MaxOpenHandlesPerUser */
    atomic_llong handles;         /* SFTP handles open in the whole server */
    int spare_fd;                 /* /dev/null, given up to accept-and-close under EMFILE */
} sfk_fd_budget;

void sfk_fd_budget_init(sfk_fd_budget *b, sftpkit_server *s, int max_connections);
void sfk_fd_budget_destroy(sfk_fd_budget *b);
/* Whether one more connection fits: every connection costs up to two descriptors (its socket and
 * its session's root directory), and half the reserve stays free for logging and accept. */
int sfk_fd_budget_connection_fits(sfk_fd_budget *b, int live_connections);
/* After accept() failed with EMFILE/ENFILE: frees the spare, accepts and closes one pending
 * connection (so the client sees a close, not a hang, and the backlog shrinks), then takes the
 * spare back. Returns 1 when a connection was shed. */
int sfk_fd_budget_shed(sfk_fd_budget *b, int listen_fd);

#endif
