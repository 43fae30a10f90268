#include "server/throttle.h"

#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sfk_throttle_init(sfk_throttle *t, int64_t socket_limit, int64_t user_limit)
{
    t->rate = socket_limit;
    if (user_limit > 0 && (t->rate == 0 || user_limit < t->rate))
        t->rate = user_limit;
    t->start_ms = now_ms();
    t->bytes = 0;
}

/* Unused allowance kept across a pause. Without a cap, a session idle for a minute (or busy in
 * the other direction) could then send a minute's worth at full speed. */
#define BURST_MS 250

void sfk_throttle_account(sfk_throttle *t, size_t n, atomic_int *abort)
{
    if (t->rate <= 0)
        return;
    int64_t now = now_ms(), due_ms = (int64_t)(t->bytes * 1000 / (uint64_t)t->rate);
    if (now - t->start_ms > due_ms + BURST_MS) { /* behind the rate: restart with a small credit */
        t->start_ms = now - BURST_MS;
        t->bytes = 0;
    }
    t->bytes += n;
    for (;;) {
        int64_t due_ms = (int64_t)(t->bytes * 1000 / (uint64_t)t->rate), elapsed = now_ms() - t->start_ms;
        if (elapsed >= due_ms || atomic_load(abort))
            return;
        int64_t wait = due_ms - elapsed;
        usleep((useconds_t)(wait > 100 ? 100000 : wait * 1000)); /* short naps keep drops prompt */
    }
}
