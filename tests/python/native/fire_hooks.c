/*
 * Test-only hooks for the Python binding's tests: fire any event on a server the way the
 * transport and the engine do (the core's event object and dispatch), from the calling thread or
 * from native threads Python has never seen. This checks the trampoline, the GIL handling, the
 * write-back of by-ref parameters and the fail-closed policy without a network client.
 *
 * Built as libsftpkit_py_testhooks.so from the static core with --exclude-libs, so no core
 * symbol leaks out of it; it works on servers made by libsftpkit.so.1 (same sources, same
 * layout). Never installed or packaged.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/events.h"

#define HOOK __attribute__((visibility("default")))

/* Fires event `id` with ints[i] / strs[i] as parameter i (strings where the parameter is a
 * string). Afterwards ints_out[i] / strs_out[i] hold every parameter's final value (strings
 * malloc'd: free them with sfkt_free). Returns 1 when a handler ran, 0 when none, -1 when the
 * id is unknown. */
HOOK int sfkt_fire(sftpkit_server *s, int id, const int64_t *ints, const char *const *strs, int64_t *ints_out,
                   char **strs_out)
{
    int n = sftpkit_event_param_count(id);
    if (n < 0 || n > SFK_EVENT_MAX_PARAMS)
        return -1;
    sftpkit_event ev;
    sfk_event_init(&ev, id);
    for (int i = 0; i < n; i++) {
        ev.v[i].i = ints ? ints[i] : 0;
        ev.v[i].s = strs && strs[i] ? strs[i] : "";
    }
    int ran = sfk_event_dispatch(s, &ev);
    for (int i = 0; i < n; i++) {
        if (ints_out)
            ints_out[i] = ev.v[i].i;
        if (strs_out)
            strs_out[i] = strdup(ev.v[i].s ? ev.v[i].s : "");
    }
    sfk_event_cleanup(&ev);
    return ran;
}

HOOK void sfkt_free(void *p)
{
    free(p);
}

struct burst {
    sftpkit_server *s;
    int id, count, ran;
    int64_t first;
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    for (int i = 0; i < b->count; i++) {
        int64_t ints[SFK_EVENT_MAX_PARAMS] = {b->first + i, 0, 40000 + i, 1};
        const char *strs[SFK_EVENT_MAX_PARAMS] = {"", "127.0.0.1", "", ""};
        if (sfkt_fire(b->s, b->id, ints, strs, NULL, NULL) == 1)
            b->ran++;
    }
    return NULL;
}

/* `threads` new native threads each fire event `id` `per_thread` times (parameter 0 = a distinct
 * number per call); returns how many handler calls ran, or -1 when a thread could not start. */
HOOK int sfkt_fire_threads(sftpkit_server *s, int id, int threads, int per_thread)
{
    if (threads < 1 || threads > 64)
        return -1;
    pthread_t tid[64];
    struct burst b[64];
    int started = 0, total = 0;
    for (int t = 0; t < threads; t++) {
        b[t] = (struct burst){s, id, per_thread, 0, (int64_t)t * per_thread + 1};
        if (pthread_create(&tid[t], NULL, burst_main, &b[t]) != 0)
            break;
        started++;
    }
    for (int t = 0; t < started; t++) {
        pthread_join(tid[t], NULL);
        total += b[t].ran;
    }
    return started == threads ? total : -1;
}
