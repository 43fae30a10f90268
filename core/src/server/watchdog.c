/* The accept thread's periodic look at every connection. A thread blocked in libssh's write to a
 * client that stopped reading never returns to its own loop, so only another thread can end it —
 * with shutdown(), the one call on a foreign session's socket that is safe (notes, pitfall 15). */
#include <stdatomic.h>
#include <sys/socket.h>

#include "server/runtime.h"

void sfk_watchdog_tick(struct sfk_runtime *rt, int64_t now)
{
    const sfk_limits *l = &rt->limits;
    for (sfk_conn *c = rt->conns; c; c = c->next) {
        if (atomic_load(&c->closed) || c->fd < 0)
            continue;
        /* a graceful drop that did not finish in time becomes a forced one */
        int64_t asked = atomic_load(&c->drop_at_ms);
        if (atomic_load(&c->drop) == SFK_DROP_GRACEFUL && asked && now - asked >= l->drop_grace_ms) {
            atomic_store(&c->drop, SFK_DROP_FORCED);
            shutdown(c->fd, SHUT_RDWR);
            continue;
        }
        /* a write that has sent nothing for socket_timeout: the client stopped reading */
        int64_t out = (int64_t)__atomic_load_n(&c->socket_counter.out_bytes, __ATOMIC_RELAXED);
        if (!atomic_load(&c->writing) || out != c->watch_out_bytes) {
            c->watch_out_bytes = out;
            c->watch_since_ms = now;
            continue;
        }
        if (l->socket_timeout_ms > 0 && now - c->watch_since_ms >= l->socket_timeout_ms && !atomic_load(&c->stalled)) {
            atomic_store(&c->stalled, 1);
            shutdown(c->fd, SHUT_RDWR);
        }
    }
}
