/* The client registry seen from other threads: list_clients, pin_client, drop_client. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/errors.h"
#include "api/props.h"
#include "api/server.h"
#include "server/runtime.h"

/* The connection with id whose thread is still running; with connected_only, also not yet gone. */
static sfk_conn *find_live(struct sfk_runtime *rt, int64_t id, int connected_only)
{
    for (sfk_conn *c = rt ? rt->conns : NULL; c; c = c->next)
        if (c->id == id && !atomic_load(&c->closed) && !(connected_only && atomic_load(&c->gone)))
            return c;
    return NULL;
}

SFTPKIT_API int sftpkit_server_list_clients(sftpkit_server *s, char **out)
{
    if (!s || !out)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "list_clients: NULL %s", s ? "out" : "server");
    struct sfk_runtime *rt = s->runtime;
    size_t cap = 256, len = 0;
    char *text = calloc(1, cap);
    if (!text)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    if (rt) {
        pthread_mutex_lock(&rt->lock);
        for (sfk_conn *c = rt->conns; c; c = c->next) {
            if (atomic_load(&c->closed) || atomic_load(&c->gone))
                continue;
            char line[128];
            int n = snprintf(line, sizeof line, "%s%" PRId64 "|%s|%d", len ? "\n" : "", c->id, c->address, c->port);
            if (len + (size_t)n + 1 > cap) {
                char *grown = realloc(text, cap = (cap + (size_t)n) * 2);
                if (!grown) {
                    pthread_mutex_unlock(&rt->lock);
                    free(text);
                    return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
                }
                text = grown;
            }
            memcpy(text + len, line, (size_t)n + 1);
            len += (size_t)n;
        }
        pthread_mutex_unlock(&rt->lock);
    }
    *out = text;
    return sfk_ok();
}

SFTPKIT_API int sftpkit_server_pin_client(sftpkit_server *s, int64_t connection_id)
{
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "pin_client: NULL server");
    struct sfk_runtime *rt = s->runtime;
    if (rt)
        pthread_mutex_lock(&rt->lock);
    sfk_conn *c = find_live(rt, connection_id, 0);
    if (!c) {
        if (rt)
            pthread_mutex_unlock(&rt->lock);
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "pin_client: no connected client has id %" PRId64,
                         connection_id);
    }
    /* Copy under the runtime lock, then write the properties (server lock) without nesting. */
    sfk_pin_info i = c->info;
    struct {
        sfk_prop_id id;
        const char *v;
    } strs[] = {{SFK_P_PINNED_CLIENT_ADDRESS, c->address},
                {SFK_P_PINNED_CLIENT_CLIENT_KEY_ALGORITHM, i.client_key_algorithm},
                {SFK_P_PINNED_CLIENT_CLIENT_KEY_FINGERPRINT, i.client_key_fingerprint},
                {SFK_P_PINNED_CLIENT_CLIENT_SOFTWARE_NAME, i.client_software},
                {SFK_P_PINNED_CLIENT_CLOSE_REASON, i.close_reason},
                {SFK_P_PINNED_CLIENT_COMPRESSION_ALGORITHM_INBOUND, i.compression_in},
                {SFK_P_PINNED_CLIENT_COMPRESSION_ALGORITHM_OUTBOUND, i.compression_out},
                {SFK_P_PINNED_CLIENT_ENCRYPTION_ALGORITHM_INBOUND, i.cipher_in},
                {SFK_P_PINNED_CLIENT_ENCRYPTION_ALGORITHM_OUTBOUND, i.cipher_out},
                {SFK_P_PINNED_CLIENT_KEX_ALGORITHM, i.kex_algorithm},
                {SFK_P_PINNED_CLIENT_KEX_LINES, i.kex_lines},
                {SFK_P_PINNED_CLIENT_MAC_ALGORITHM_INBOUND, i.mac_in},
                {SFK_P_PINNED_CLIENT_MAC_ALGORITHM_OUTBOUND, i.mac_out},
                {SFK_P_PINNED_CLIENT_PUBLIC_KEY_ALGORITHM, i.public_key_algorithm},
                {SFK_P_PINNED_CLIENT_SERVER_KEY_FINGERPRINT, i.server_key_fingerprint}};
    char *copies[sizeof strs / sizeof *strs];
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++)
        copies[k] = strdup(strs[k].v ? strs[k].v : "");
    int64_t ints[][2] = {{SFK_P_PINNED_CLIENT_ID, c->id},
                         {SFK_P_PINNED_CLIENT_PORT, c->port},
                         {SFK_P_PINNED_CLIENT_CLIENT_KEY_BITS, i.client_key_bits},
                         {SFK_P_PINNED_CLIENT_INBOUND_ENCRYPTION_KEY_BITS, i.key_bits_in},
                         {SFK_P_PINNED_CLIENT_OUTBOUND_ENCRYPTION_KEY_BITS, i.key_bits_out},
                         {SFK_P_PINNED_CLIENT_KEX_BITS, i.kex_bits},
                         {SFK_P_PINNED_CLIENT_SERVER_KEY_BITS, i.server_key_bits},
                         /* libssh updates these on the connection's thread as it reads and writes;
                          * an atomic load reads a whole value, never a torn one */
                         {SFK_P_PINNED_CLIENT_TOTAL_BYTES_RECEIVED,
                          (int64_t)__atomic_load_n(&c->socket_counter.in_bytes, __ATOMIC_RELAXED)},
                         {SFK_P_PINNED_CLIENT_TOTAL_BYTES_SENT,
                          (int64_t)__atomic_load_n(&c->socket_counter.out_bytes, __ATOMIC_RELAXED)},
                         {SFK_P_PINNED_CLIENT_VERSION, 2}};
    pthread_mutex_unlock(&rt->lock);
    int rc = 0;
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) {
        if (!copies[k] || sfk_prop_put_str(s, strs[k].id, -1, copies[k]))
            rc = sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        free(copies[k]);
    }
    for (size_t k = 0; k < sizeof ints / sizeof *ints; k++)
        sfk_prop_put_int(s, (sfk_prop_id)ints[k][0], -1, ints[k][1]);
    return rc ? rc : sfk_ok();
}

SFTPKIT_API int sftpkit_server_drop_client(sftpkit_server *s, int64_t connection_id, int forced)
{
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "drop_client: NULL server");
    struct sfk_runtime *rt = s->runtime;
    if (rt)
        pthread_mutex_lock(&rt->lock);
    sfk_conn *c = find_live(rt, connection_id, 1);
    if (c) {
        /* Graceful: the connection thread sends a disconnect at its next turn (within 0.2 s).
         * Forced: shutdown() ends its I/O at once; the thread cleans up. Never libssh from here.
         * During the key exchange libssh blocks until the handshake timeout and there is nothing
         * to be graceful about yet, so shutdown() then too. */
        if (!forced && !atomic_load(&c->drop_at_ms)) /* the watchdog forces it after DropGraceTime */
            atomic_store(&c->drop_at_ms, sfk_now_ms());
        if (forced || atomic_load(&c->drop) != SFK_DROP_FORCED) /* never downgrade a forced drop */
            atomic_store(&c->drop, forced ? SFK_DROP_FORCED : SFK_DROP_GRACEFUL);
        if ((forced || atomic_load(&c->in_kex)) && c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    }
    if (rt)
        pthread_mutex_unlock(&rt->lock);
    if (!c)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "drop_client: no connected client has id %" PRId64,
                         connection_id);
    return sfk_ok();
}
