/*
 * Test-only hooks for the C# tests: fire events on a server exactly as the transport and the SFTP
 * engine do (through the generated sfk_fire_on_X helpers), from the calling thread or from new
 * native threads the runtime has never seen. This checks the binding's dispatch, write-back,
 * fail-closed policy and thread handling without a network client.
 *
 * Built as libsftpkit_cs_testhooks.so from the static core with --exclude-libs, so none of the
 * core's symbols leak out of it; it operates on servers created by libsftpkit.so.1 (same sources,
 * same layout). Never shipped.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/events_gen.h"

#define HOOK __attribute__((visibility("default")))

HOOK int sfkt_fire_auth_password(sftpkit_server *s, int64_t conn, const char *user, const char *password, int accept_in,
                                 int *accept_out)
{
    int accept = accept_in, force = 0;
    int ran = sfk_fire_on_auth_password(s, conn, user, password, &accept, &force);
    *accept_out = accept;
    return ran;
}

HOOK int sfkt_fire_open_file(sftpkit_server *s, int64_t conn, const char *path, int64_t *status, char **handle)
{
    *handle = NULL;
    return sfk_fire_on_open_file(s, conn, path, 1, 0, status, handle);
}

HOOK int sfkt_fire_translate_path(sftpkit_server *s, int64_t conn, const char *path, char **absolute, int64_t *action)
{
    *absolute = NULL;
    return sfk_fire_on_translate_path(s, conn, path, absolute, action);
}

HOOK void sfkt_free(void *p)
{
    free(p);
}

struct burst {
    sftpkit_server *s;
    int64_t first_id;
    int count;
    int ran;
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    for (int i = 0; i < b->count; i++)
        b->ran += sfk_fire_on_connect(b->s, b->first_id + i, "127.0.0.1", 40000 + i);
    return NULL;
}

/* `threads` new native threads each fire on_connect `per_thread` times (distinct connection ids);
 * returns how many handler calls ran, or -1 when a thread could not be started. */
HOOK int sfkt_fire_connect_threads(sftpkit_server *s, int threads, int per_thread)
{
    if (threads < 1 || threads > 64)
        return -1;
    pthread_t tid[64];
    struct burst b[64];
    int started = 0, total = 0;
    for (int t = 0; t < threads; t++) {
        b[t] = (struct burst){s, (int64_t)t * per_thread + 1, per_thread, 0};
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
