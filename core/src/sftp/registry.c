/* The server's registry of live engines (connection id -> engine) and the four methods that
 * reach an engine from a handler: get/set_client_buffer and get/set_client_file_entry.
 *
 * Handlers run synchronously on the engine's thread, so the usual caller is found through a
 * thread-local "current engine" without any search. Calls from other threads search the
 * registry; its lock is held for the whole call, and an engine leaves the registry before it is
 * freed, so such a call never sees a freed engine. Lock order: registry -> engine ctx_lock ->
 * server lock. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/errors.h"
#include "sftp/engine_int.h"
#include "sftp/host.h"
#include "sftp/pool.h"

struct sfk_sftp_registry {
    pthread_mutex_t lock;
    sfk_engine **engines;
    size_t count, cap;
    sfk_pool *pool; /* parallel requests of every session (config WorkerThreads); made on first use */
    int pool_failed;
};

static __thread sfk_engine *current;

void sfk_registry_set_current(sfk_engine *e)
{
    current = e;
}

static void registry_free(struct sfk_sftp_registry *r)
{
    pthread_mutex_destroy(&r->lock);
    free(r->engines);
    free(r);
}

/* The server keeps the registry (its slot is the host's, sftp/host.h); made on first use. */
static struct sfk_sftp_registry *registry_of(sftpkit_server *s, int create)
{
    struct sfk_sftp_registry *r = sfk_server_registry(s, NULL);
    if (r || !create)
        return r;
    struct sfk_sftp_registry *fresh = calloc(1, sizeof *fresh);
    if (!fresh)
        return NULL;
    pthread_mutex_init(&fresh->lock, NULL);
    r = sfk_server_registry(s, fresh);
    if (r != fresh) /* another session made one meanwhile */
        registry_free(fresh);
    return r;
}

int sfk_registry_add(sfk_engine *e)
{
    struct sfk_sftp_registry *r = registry_of(e->server, 1);
    if (!r)
        return -1;
    pthread_mutex_lock(&r->lock);
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        sfk_engine **p = realloc(r->engines, cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&r->lock);
            return -1;
        }
        r->engines = p;
        r->cap = cap;
    }
    r->engines[r->count++] = e;
    e->registered = 1;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

void sfk_registry_remove(sfk_engine *e)
{
    struct sfk_sftp_registry *r = registry_of(e->server, 0);
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->count; i++) {
        if (r->engines[i] == e) {
            r->engines[i] = r->engines[--r->count];
            break;
        }
    }
    e->registered = 0;
    pthread_mutex_unlock(&r->lock);
}

struct sfk_pool *sfk_registry_pool(sfk_engine *e)
{
    if (!e->server || e->workers <= 0)
        return NULL;
    struct sfk_sftp_registry *r = registry_of(e->server, 1);
    if (!r)
        return NULL;
    pthread_mutex_lock(&r->lock);
    if (!r->pool && !r->pool_failed) {
        r->pool = sfk_pool_new(e->workers);
        r->pool_failed = !r->pool; /* no threads: every session runs its handlers inline */
    }
    sfk_pool *p = r->pool;
    pthread_mutex_unlock(&r->lock);
    return p;
}

void sfk_sftp_registry_free(struct sfk_sftp_registry *r)
{
    if (!r)
        return;
    /* every connection thread is joined: the pool only finishes handlers of ended sessions */
    sfk_pool_free(r->pool);
    registry_free(r);
}

/* ---- finding the engine a method means ------------------------------------------------------ */

typedef struct {
    sfk_engine *e;
    struct sfk_sftp_registry *reg; /* held when the engine came from a search */
} engine_ref;

static int handle_matches(const sfk_engine *e, const char *handle)
{
    if (!handle || !*handle)
        return e->ctx.kind != SFK_CTX_NONE;
    if (e->ctx.kind != SFK_CTX_NONE && e->ctx.handle && !strcmp(e->ctx.handle, handle))
        return 1;
    for (uint32_t i = 0; i < e->handles.cap; i++) {
        const sfk_handle *h = &e->handles.slots[i];
        if (h->kind != SFK_H_FREE && !strcmp(h->name, handle))
            return 1;
    }
    return 0;
}

/* Locks and returns the engine of connection_id that the call is about: the current one when
 * the caller is its handler, else one that has the handle open or a request in a handler. */
static int engine_get(sftpkit_server *s, int64_t conn, const char *handle, const char *what, engine_ref *ref)
{
    ref->e = NULL;
    ref->reg = NULL;
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL server", what);
    if (current && current->server == s && current->conn_id == conn) {
        ref->e = current;
        pthread_mutex_lock(&ref->e->ctx_lock);
        return 0;
    }
    struct sfk_sftp_registry *r = registry_of(s, 0);
    if (r) {
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < r->count && !ref->e; i++) {
            sfk_engine *e = r->engines[i];
            if (e->conn_id != conn)
                continue;
            pthread_mutex_lock(&e->ctx_lock);
            if (handle_matches(e, handle)) {
                ref->e = e;
                ref->reg = r;
                return 0;
            }
            pthread_mutex_unlock(&e->ctx_lock);
        }
        pthread_mutex_unlock(&r->lock);
    }
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: connection %lld has no SFTP session with handle \"%s\"",
                     what, (long long)conn, handle ? handle : "");
}

static void engine_put(engine_ref *ref)
{
    pthread_mutex_unlock(&ref->e->ctx_lock);
    if (ref->reg)
        pthread_mutex_unlock(&ref->reg->lock);
}

/* Is the running request the one the handle names? (An empty handle means "the current one".) */
static int ctx_is(const sfk_ctx *ctx, sfk_ctx_kind kind, const char *handle)
{
    if (ctx->kind != kind)
        return 0;
    return !handle || !*handle || (ctx->handle && !strcmp(ctx->handle, handle));
}

/* ---- the methods ---------------------------------------------------------------------------- */

SFTPKIT_API int sftpkit_server_get_client_buffer(sftpkit_server *s, int64_t connection_id, const char *handle,
                                                 uint8_t **out, size_t *len)
{
    if (!out || !len)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "get_client_buffer: NULL out");
    *out = NULL;
    *len = 0;
    engine_ref ref;
    int rc = engine_get(s, connection_id, handle, "get_client_buffer", &ref);
    if (rc)
        return rc;
    sfk_engine *e = ref.e;
    sfk_ctx *ctx = sfk_pending_ctx(e); /* a parallel request's own, else the engine's */
    if (!ctx_is(ctx, SFK_CTX_WRITE, handle)) {
        engine_put(&ref);
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE,
                         "get_client_buffer: no write is in progress on handle \"%s\" (call it from on_write_file)",
                         handle ? handle : "");
    }
    uint8_t *copy = malloc(ctx->wlen ? ctx->wlen : 1);
    if (copy) {
        memcpy(copy, ctx->wdata, ctx->wlen);
        *out = copy;
        *len = ctx->wlen;
    }
    engine_put(&ref);
    return copy ? sfk_ok() : sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
}

SFTPKIT_API int sftpkit_server_get_client_buffer_into(sftpkit_server *s, int64_t connection_id, const char *handle,
                                                      uint8_t *dst, size_t cap, size_t *len)
{
    if (!len || (!dst && cap))
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "get_client_buffer_into: NULL %s", len ? "dst" : "len");
    *len = 0;
    engine_ref ref;
    int rc = engine_get(s, connection_id, handle, "get_client_buffer_into", &ref);
    if (rc)
        return rc;
    sfk_engine *e = ref.e;
    sfk_ctx *ctx = sfk_pending_ctx(e); /* a parallel request's own, else the engine's */
    if (!ctx_is(ctx, SFK_CTX_WRITE, handle)) {
        engine_put(&ref);
        return sfk_error(
            SFTPKIT_ERROR_INVALID_STATE,
            "get_client_buffer_into: no write is in progress on handle \"%s\" (call it from on_write_file)",
            handle ? handle : "");
    }
    size_t n = ctx->wlen;
    *len = n;
    /* dst NULL with cap 0 asks the size; a buffer too small gets nothing (never half the data) */
    if (dst && cap < n) {
        engine_put(&ref);
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER,
                         "get_client_buffer_into: the buffer holds %zu bytes, the write has %zu", cap, n);
    }
    if (dst && n)
        memcpy(dst, ctx->wdata, n);
    engine_put(&ref);
    return sfk_ok();
}

SFTPKIT_API int sftpkit_server_set_client_buffer(sftpkit_server *s, int64_t connection_id, const char *handle,
                                                 const uint8_t *v, size_t len)
{
    if (!v && len)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "set_client_buffer: NULL value");
    engine_ref ref;
    int rc = engine_get(s, connection_id, handle, "set_client_buffer", &ref);
    if (rc)
        return rc;
    sfk_engine *e = ref.e;
    sfk_ctx *ctx = sfk_pending_ctx(e);
    if (!ctx_is(ctx, SFK_CTX_READ, handle)) {
        engine_put(&ref);
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE,
                         "set_client_buffer: no read is in progress on handle \"%s\" (call it from on_read_file)",
                         handle ? handle : "");
    }
    size_t n = len < ctx->rcap ? len : ctx->rcap; /* the client asked for at most Size bytes */
    if (n)
        memcpy(ctx->rdata, v, n);
    ctx->rlen = n;
    ctx->rset = 1;
    engine_put(&ref);
    return sfk_ok();
}

SFTPKIT_API int sftpkit_server_get_client_file_entry(sftpkit_server *s, int64_t connection_id, const char *handle)
{
    engine_ref ref;
    int rc = engine_get(s, connection_id, handle, "get_client_file_entry", &ref);
    if (rc)
        return rc;
    sfk_engine *e = ref.e;
    if (ctx_is(&e->ctx, SFK_CTX_SETATTRS, handle)) { /* the change being asked for */
        sfk_entry_write(e, e->ctx.path, e->ctx.set_attrs);
        engine_put(&ref);
        return sfk_ok();
    }
    const sfk_handle *h = NULL;
    for (uint32_t i = 0; handle && *handle && i < e->handles.cap && !h; i++)
        if (e->handles.slots[i].kind != SFK_H_FREE && !strcmp(e->handles.slots[i].name, handle))
            h = &e->handles.slots[i];
    if (!h) {
        engine_put(&ref);
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "get_client_file_entry: no open handle \"%s\"",
                         handle ? handle : "");
    }
    sfk_attrs a = {0};
    int fd = h->kind == SFK_H_DIR && h->dir ? dirfd(h->dir) : h->fd;
    struct stat st;
    if (!h->custom && fd >= 0 && fstat(fd, &st) == 0)
        sfk_attrs_from_stat(&a, &st);
    sfk_entry_write(e, h->path, &a); /* a virtual file: its path and name only */
    engine_put(&ref);
    return sfk_ok();
}

SFTPKIT_API int sftpkit_server_set_client_file_entry(sftpkit_server *s, int64_t connection_id, const char *handle)
{
    engine_ref ref;
    int rc = engine_get(s, connection_id, handle, "set_client_file_entry", &ref);
    if (rc)
        return rc;
    sfk_engine *e = ref.e;
    /* During on_find_first the handler may be renaming the handle, so any handle is taken. */
    sfk_ctx_kind k = e->ctx.kind;
    if (k != SFK_CTX_FIND && k != SFK_CTX_ATTRS) {
        engine_put(&ref);
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE,
                         "set_client_file_entry: no listing or attribute request is in progress (call it from "
                         "on_find_first, on_find_next or on_request_attributes)");
    }
    sfk_entry en = {0};
    rc = e->host.ops && e->host.ops->entry_get
             ? e->host.ops->entry_get(e->host.ctx, &en)
             : sfk_error(SFTPKIT_ERROR_INVALID_STATE, "set_client_file_entry: no host");
    if (rc == 0 && k == SFK_CTX_FIND) {
        sfk_handle *h = e->ctx.find;
        sfk_entry_encode(e, &h->listing, &en);
        h->listing_count++;
        if (h->listing.oom)
            rc = sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    } else if (rc == 0) {
        e->ctx.attrs = en.attrs;
        e->ctx.attrs_set = 1;
    }
    sfk_entry_free(&en);
    engine_put(&ref);
    return rc ? rc : sfk_ok();
}
