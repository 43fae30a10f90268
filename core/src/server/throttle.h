/* Speed limits (socket_*_speed_limit, user_*_speed_limit): a per-direction pacer that sleeps the
 * connection thread just enough to stay under the lowest non-zero limit. Internal. */
#ifndef SFK_THROTTLE_H
#define SFK_THROTTLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t rate; /* bytes per second; 0 = unlimited */
    int64_t start_ms;
    uint64_t bytes;
} sfk_throttle;

void sfk_throttle_init(sfk_throttle *t, int64_t socket_limit, int64_t user_limit);
/* Accounts n bytes and sleeps while ahead of the rate; returns early when *abort becomes set. */
void sfk_throttle_account(sfk_throttle *t, size_t n, atomic_int *abort);

#endif
