/* Parallel and deferred READ/WRITE of one session: the op list, its ordering rules, the pool
 * jobs, the replies, cancellation and the public token (sftpkit_request). See pending.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/errors.h"
#include "sftp/engine_int.h"
#include "sftp/host.h"
#include "sftp/pool.h"
#include "sftp/status.h"
#include "sftpkit/sftpkit_consts.h"
#include "util/metrics.h"

typedef enum {
    OP_QUEUED = 0, /* waits for an earlier op on its handle */
    OP_READY,      /* may start: in the pool's queue, or (inline) for the engine thread */
    OP_RUNNING,    /* its handler runs */
    OP_DEFERRED,   /* its handler returned with a token out */
    OP_DONE,       /* status and data final; waits for its turn to reply */
} op_state;

typedef struct sfk_pend {
    sfk_engine *e;
    struct sfk_pend *next;
    int refs; /* list, pool job, token (ops_lock) */
    op_state state;
    uint8_t type; /* SSH_FXP_READ or SSH_FXP_WRITE */
    uint32_t id;
    sfk_handle *h; /* stable: the handle table does not change while ops are listed */
    char *handle;  /* the handle's name for the handler (h->name belongs to the engine thread) */
    uint64_t off;
    uint32_t len;  /* READ: asked for; WRITE: data length */
    uint8_t *data; /* READ: room for len bytes; WRITE: the data */
    int kept_buf;  /* data is SFK_OP_BUF_SIZE bytes, to be kept for the session's next op */
    size_t got;    /* READ: bytes read */
    int status;    /* SFTP status once done */
    char *message; /* the handler's text for the client with a failure (owned) */
    int deferred;  /* the handler took the token */
    int completed; /* sftpkit_request_complete was called */
    int cancelled; /* SFTPKIT_REQUEST_CANCEL_*, 0 = wanted */
    sftpkit_request_cancel_fn on_cancel;
    void *cancel_user;
    int cancel_running;      /* the cancel handler runs now (outside ops_lock) ... */
    pthread_t cancel_thread; /* ... on this thread */
    int64_t started_us;
    sfk_ctx ctx; /* the handler's get/set_client_buffer context */
} sfk_pend;

/* The op whose handler runs on this thread (set around the handler call). */
static __thread sfk_pend *running_op;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L)
        ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

struct sfk_ctx_s *sfk_pending_ctx(sfk_engine *e)
{
    return running_op && running_op->e == e ? &running_op->ctx : &e->ctx;
}

int sfk_pending_count(const sfk_engine *e)
{
    return e->ops_count;
}

static void op_free(sfk_pend *op)
{
    free(op->handle);
    free(op->data);
    free(op->message);
    free(op);
}

/* Bulk op buffers a session gave back (idle or ended), kept for the process's next sessions: a
 * fresh 256 KiB buffer is fresh pages, and on this VM first-touch page faults made a new
 * session's handler copies cost 248 us per READ instead of 27 (bench/python-buffers). Bounded
 * (SFK_OP_SPARE_MAX buffers, 16 MiB per process); a buffer's old bytes never reach a client: a
 * reply carries only what its handler wrote, a WRITE's data is copied in whole. */
#define SFK_OP_SPARE_MAX 64
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *spare_bufs[SFK_OP_SPARE_MAX];
static int spare_n;

static uint8_t *spare_take(void)
{
    pthread_mutex_lock(&spare_lock);
    uint8_t *b = spare_n ? spare_bufs[--spare_n] : NULL;
    pthread_mutex_unlock(&spare_lock);
    return b;
}

/* A data buffer for an op of `bytes`: a kept one for bulk sizes (*kept set), else malloc. */
static uint8_t *op_buf_get(sfk_engine *e, size_t bytes, int *kept)
{
    *kept = bytes >= SFK_OP_BUF_MIN && bytes <= SFK_OP_BUF_SIZE;
    if (!*kept)
        return malloc(bytes ? bytes : 1);
    uint8_t *b = NULL;
    pthread_mutex_lock(&e->ops_lock);
    if (e->op_nbufs)
        b = e->op_bufs[--e->op_nbufs];
    pthread_mutex_unlock(&e->ops_lock);
    if (!b)
        b = spare_take();
    return b ? b : malloc(SFK_OP_BUF_SIZE);
}

/* Takes the kept buffers out of e to free them outside the lock. (ops_lock held) */
static int take_kept_locked(sfk_engine *e, uint8_t **bufs)
{
    int n = e->op_nbufs;
    memcpy(bufs, e->op_bufs, (size_t)n * sizeof *bufs);
    e->op_nbufs = 0;
    return n;
}

/* Gives a session's kept buffers to the process's spares and frees what does not fit. */
static void give_to_spares(uint8_t **bufs, int n)
{
    int i = 0;
    pthread_mutex_lock(&spare_lock);
    for (; i < n && spare_n < SFK_OP_SPARE_MAX; i++)
        spare_bufs[spare_n++] = bufs[i];
    pthread_mutex_unlock(&spare_lock);
    for (; i < n; i++)
        free(bufs[i]);
}

void sfk_pending_trim(sfk_engine *e)
{
    uint8_t *bufs[SFK_OPS_MAX];
    pthread_mutex_lock(&e->ops_lock);
    int n = e->ops_live ? 0 : take_kept_locked(e, bufs);
    pthread_mutex_unlock(&e->ops_lock);
    give_to_spares(bufs, n);
}

/* Drops one reference; the last one frees the op (keeping its buffer for the session while the
 * engine is in use) and, for an engine already freed, the engine. */
static void op_release(sfk_pend *op)
{
    sfk_engine *e = op->e;
    pthread_mutex_lock(&e->ops_lock);
    int gone = --op->refs == 0, last = 0;
    if (gone) {
        e->ops_live--;
        last = e->orphaned && e->ops_live == 0;
        if (op->kept_buf && !e->orphaned && e->op_nbufs < SFK_OPS_MAX) {
            e->op_bufs[e->op_nbufs++] = op->data;
            op->data = NULL;
        }
    }
    pthread_mutex_unlock(&e->ops_lock);
    if (gone)
        op_free(op);
    if (last)
        sfk_engine_destroy(e);
}

static int finished(const sfk_pend *op)
{
    return op->state == OP_DONE;
}

/* May op start, given the earlier ops in the list? (ops_lock held) */
static int may_start(const sfk_engine *e, const sfk_pend *op)
{
    for (const sfk_pend *p = e->ops_head; p && p != op; p = p->next) {
        if (p->h != op->h || finished(p))
            continue;
        if (op->type == SSH_FXP_WRITE || p->type == SSH_FXP_WRITE)
            return 0; /* a WRITE waits for everything before it; anything waits for a WRITE */
    }
    return 1;
}

static void run_op(void *arg);

/* Moves ops that may now start to READY and hands them to the pool. (ops_lock held) */
static void schedule(sfk_engine *e)
{
    for (sfk_pend *op = e->ops_head; op; op = op->next) {
        if (op->state != OP_QUEUED || !may_start(e, op))
            continue;
        op->state = OP_READY;
        if (!e->pool)
            continue; /* inline: the engine thread runs it in sfk_pending_collect */
        op->refs++;
        if (sfk_pool_push(e->pool, run_op, op) != 0) { /* no memory for the job: fail the request */
            op->refs--;
            op->status = SSH_FX_FAILURE;
            op->state = OP_DONE;
        }
    }
}

/* ---- running a handler ---------------------------------------------------------------------- */

static int fire(sfk_pend *op)
{
    sfk_engine *e = op->e;
    int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
    int ran;
    if (op->type == SSH_FXP_READ)
        ran = sfk_host_on_read_file(&e->host, e->conn_id, op->handle, (int64_t)op->off, op->len, &ost);
    else
        ran = sfk_host_on_write_file(&e->host, e->conn_id, op->handle, (int64_t)op->off, &ost);
    return ran ? sfk_status_from_ost(ost) : SSH_FX_OP_UNSUPPORTED;
}

/* A pool job, or (inline) called by the engine thread. Takes over the job's reference. */
static void run_op(void *arg)
{
    sfk_pend *op = arg;
    sfk_engine *e = op->e;
    pthread_mutex_lock(&e->ops_lock);
    if (op->state != OP_READY || op->cancelled) { /* cancelled before it started: never runs */
        if (op->state == OP_READY)
            op->state = OP_DONE;
        pthread_mutex_unlock(&e->ops_lock);
        if (e->pool)
            op_release(op);
        return;
    }
    op->state = OP_RUNNING;
    pthread_mutex_unlock(&e->ops_lock);

    running_op = op;
    sfk_registry_set_current(e); /* the handler's methods find this engine without a search */
    int st = fire(op);
    sfk_registry_set_current(NULL);
    running_op = NULL;
    /* A pool thread is not the one that writes the reply: the handler's text travels with the
     * op. A deferred request gives its text through its token instead. */
    char *message = sfk_host_message_take();

    pthread_mutex_lock(&e->ops_lock);
    if (!op->deferred && !op->completed) {
        free(op->message);
        op->message = message;
        message = NULL;
    }
    if (op->completed) { /* completed through its token before the handler even returned */
        op->state = OP_DONE;
    } else if (op->deferred) {
        op->state = OP_DEFERRED;
    } else {
        pthread_mutex_lock(&e->ctx_lock);
        op->got = op->ctx.rlen;
        pthread_mutex_unlock(&e->ctx_lock);
        op->status = st;
        op->state = OP_DONE;
    }
    if (op->state == OP_DONE)
        schedule(e);
    pthread_cond_broadcast(&e->ops_cond); /* also for the end of a session waiting for RUNNING ones */
    pthread_mutex_unlock(&e->ops_lock);
    free(message);
    if (e->pool)
        op_release(op);
}

/* ---- the engine thread: offering, replying ------------------------------------------------- */

int sfk_pending_offer(sfk_engine *e, const uint8_t *pkt, uint32_t len)
{
    uint8_t type = pkt[0];
    if (!e->events || !e->initialized || e->orphaned || (type != SSH_FXP_READ && type != SSH_FXP_WRITE) || len < 5)
        return SFK_OFFER_NO;
    sfk_rd rd = sfk_rd_init(pkt + 5, len - 5);
    sfk_handle *h = sfk_take_handle(e, &rd);
    uint64_t off = sfk_rd_u64(&rd);
    uint32_t n = 0;
    const uint8_t *wdata = NULL;
    size_t wlen = 0;
    if (type == SSH_FXP_READ)
        n = sfk_rd_u32(&rd);
    else
        wdata = sfk_rd_str(&rd, &wlen);
    /* anything the normal path answers with an error, it answers */
    if (rd.bad || !h || h->kind != SFK_H_FILE || !h->custom)
        return SFK_OFFER_NO;
    if (type == SSH_FXP_READ && n == 0)
        return SFK_OFFER_NO;
    if (type == SSH_FXP_WRITE && !h->open.write && !h->open.append)
        return SFK_OFFER_NO;
    if (e->pool_wanted) {
        /* Decided once, before this session's first op exists (inline and pooled ops count
         * their references differently): a server whose sessions only use base_dir never
         * starts the WorkerThreads. */
        e->pool_wanted = 0;
        e->pool = sfk_registry_pool(e);
    }
    if (n > SFK_SFTP_MAX_RW_LENGTH)
        n = SFK_SFTP_MAX_RW_LENGTH; /* a short read is allowed; clients ask again */
    size_t bytes = type == SSH_FXP_READ ? n : wlen;
    if (e->ops_count >= SFK_OPS_MAX || (e->ops_count && e->ops_bytes + bytes > SFK_OPS_BYTES))
        return SFK_OFFER_FULL;
    sfk_pend *op = calloc(1, sizeof *op);
    char *name = op ? strdup(h->name) : NULL;
    int kept = 0;
    uint8_t *data = name ? op_buf_get(e, bytes, &kept) : NULL;
    if (!data) {
        free(name);
        free(op);
        return e->ops_count ? SFK_OFFER_FULL : SFK_OFFER_NO; /* the normal path copes with no memory */
    }
    if (wlen)
        memcpy(data, wdata, wlen); /* the packet's bytes are gone once the transport reads again */
    *op = (sfk_pend){.e = e,
                     .refs = 1,
                     .state = OP_QUEUED,
                     .type = type,
                     .id = sfk_get_u32(pkt + 1),
                     .h = h,
                     .handle = name,
                     .off = off,
                     .len = type == SSH_FXP_READ ? n : (uint32_t)wlen,
                     .data = data,
                     .kept_buf = kept,
                     .started_us = e->server ? sfk_metrics_now_us() : 0};
    op->ctx = (sfk_ctx){.kind = type == SSH_FXP_READ ? SFK_CTX_READ : SFK_CTX_WRITE,
                        .handle = op->handle,
                        .path = h->path,
                        .wdata = type == SSH_FXP_WRITE ? data : NULL,
                        .wlen = type == SSH_FXP_WRITE ? wlen : 0,
                        .rdata = type == SSH_FXP_READ ? data : NULL,
                        .rcap = type == SSH_FXP_READ ? n : 0};
    pthread_mutex_lock(&e->ops_lock);
    if (e->ops_tail)
        e->ops_tail->next = op;
    else
        e->ops_head = op;
    e->ops_tail = op;
    e->ops_count++;
    e->ops_bytes += bytes;
    e->ops_live++;
    schedule(e);
    pthread_mutex_unlock(&e->ops_lock);
    return SFK_OFFER_TAKEN;
}

static void reply_op(sfk_engine *e, sfk_pend *op)
{
    sfk_handle *h = op->h;
    int st = op->status;
    if (st != SSH_FX_OK) { /* the text goes with a failure only; sfk_reply_status clears it */
        sfk_host_message_give(op->message);
        op->message = NULL;
    }
    if (op->type == SSH_FXP_READ) {
        size_t got = st == SSH_FX_OK ? op->got : 0;
        if (st == SSH_FX_OK && got == 0)
            st = SSH_FX_EOF;
        h->bytes_read += got; /* for the audit record at CLOSE */
        if (h->notify)
            sfk_app_notify(e, "FileRead", "ConnectionID=%lld;Handle=%s;Offset=%llu;Count=%u;Read=%zu",
                           (long long)e->conn_id, h->name, (unsigned long long)op->off, op->len, got);
        if (st != SSH_FX_OK) {
            sfk_reply_status(e, op->id, st);
        } else {
            size_t start = sfk_wr_begin(&e->out, SSH_FXP_DATA);
            sfk_wr_u32(&e->out, op->id);
            sfk_wr_str(&e->out, op->data, got);
            sfk_wr_end(&e->out, start);
        }
    } else {
        if (st == SSH_FX_OK)
            h->bytes_written += op->len;
        if (h->notify)
            sfk_app_notify(e, "FileWrite", "ConnectionID=%lld;Handle=%s;Offset=%llu;Count=%u", (long long)e->conn_id,
                           h->name, (unsigned long long)op->off, op->len);
        sfk_reply_status(e, op->id, st);
    }
    if (e->server)
        sfk_metrics_request(e->server, op->type, sfk_status_for_version(st, 3), sfk_metrics_now_us() - op->started_us);
}

/* No earlier op on its handle is still listed: its reply may leave. (ops_lock held) */
static int first_of_handle(const sfk_engine *e, const sfk_pend *op)
{
    for (const sfk_pend *p = e->ops_head; p != op; p = p->next)
        if (p->h == op->h)
            return 0;
    return 1;
}

/* The bytes op's reply adds to the output, near enough for the bound. */
static size_t reply_size(const sfk_pend *op)
{
    return op->type == SSH_FXP_READ && op->status == SSH_FX_OK ? 13 + op->got : 64;
}

void sfk_pending_collect(sfk_engine *e)
{
    for (;;) {
        sfk_pend *take[SFK_OPS_MAX], *run = NULL;
        int ntake = 0;
        /* Replies are taken only while the output is under SFK_OUT_HIGH, as the engine's own
         * requests are: 64 finished 255 KiB READs taken at once grew a session's output to
         * 16 MiB (and kept it there). The rest wait for the transport to drain the output. */
        size_t queued = e->out.len - e->out_off;
        pthread_mutex_lock(&e->ops_lock);
        /* replies: a finished op whose handle has no earlier op still listed */
        sfk_pend **link = &e->ops_head, *prev = NULL;
        while (*link) {
            sfk_pend *op = *link;
            if (op->state == OP_DONE && ntake < SFK_OPS_MAX && queued < SFK_OUT_HIGH && first_of_handle(e, op)) {
                *link = op->next;
                if (e->ops_tail == op)
                    e->ops_tail = prev;
                e->ops_count--;
                e->ops_bytes -= op->len;
                queued += reply_size(op);
                take[ntake++] = op;
                continue;
            }
            if (!e->pool && !run && op->state == OP_READY)
                run = op;
            prev = op;
            link = &op->next;
        }
        pthread_mutex_unlock(&e->ops_lock);
        for (int i = 0; i < ntake; i++) {
            sfk_registry_set_current(e); /* notifications are handlers too */
            reply_op(e, take[i]);
            sfk_registry_set_current(NULL);
            op_release(take[i]);
        }
        if (run) {
            run_op(run); /* no pool: the handler runs here, one at a time as before */
            continue;
        }
        if (!ntake || e->out.len - e->out_off >= SFK_OUT_HIGH)
            return;
    }
}

void sfk_pending_wait(sfk_engine *e, int ms)
{
    pthread_mutex_lock(&e->ops_lock);
    int ready = 0;
    for (sfk_pend *op = e->ops_head; op && !ready; op = op->next)
        ready = (op->state == OP_DONE && first_of_handle(e, op)) || (!e->pool && op->state == OP_READY);
    if (!ready && e->ops_head && ms > 0) {
        struct timespec ts;
        deadline_in(&ts, ms);
        pthread_cond_timedwait(&e->ops_cond, &e->ops_lock, &ts);
    }
    pthread_mutex_unlock(&e->ops_lock);
}

/* ---- the end of a session ------------------------------------------------------------------- */

void sfk_pending_cancel_all(sfk_engine *e, int reason)
{
    sfk_pend *tell[SFK_OPS_MAX];
    int ntell = 0;
    pthread_mutex_lock(&e->ops_lock);
    for (sfk_pend *op = e->ops_head; op; op = op->next) {
        if (op->cancelled)
            continue;
        op->cancelled = reason;
        if (op->state == OP_QUEUED || op->state == OP_READY)
            op->state = OP_DONE; /* never starts (a queued pool job finds it done) */
        else if (op->on_cancel && (op->state == OP_RUNNING || op->state == OP_DEFERRED) && ntell < SFK_OPS_MAX) {
            op->refs++;
            tell[ntell++] = op;
        }
    }
    pthread_cond_broadcast(&e->ops_cond);
    pthread_mutex_unlock(&e->ops_lock);
    for (int i = 0; i < ntell; i++) { /* outside the lock: the callback may complete the request */
        sftpkit_request_cancel_fn fn;
        void *user;
        pthread_mutex_lock(&e->ops_lock);
        fn = tell[i]->completed ? NULL : tell[i]->on_cancel; /* completed meanwhile: its owner is done */
        user = tell[i]->cancel_user;
        tell[i]->on_cancel = NULL; /* once */
        if (fn) {
            tell[i]->cancel_running = 1;
            tell[i]->cancel_thread = pthread_self();
        }
        pthread_mutex_unlock(&e->ops_lock);
        if (fn) {
            fn(user, (sftpkit_request *)tell[i], reason);
            pthread_mutex_lock(&e->ops_lock);
            tell[i]->cancel_running = 0;
            pthread_cond_broadcast(&e->ops_cond); /* a complete on another thread waits for this */
            pthread_mutex_unlock(&e->ops_lock);
        }
        op_release(tell[i]);
    }
    /* Synchronous handlers cannot be interrupted: give them a moment, then leave them be (the
     * engine outlives them). Deferred ones were told and are not waited for. */
    int64_t until = mono_ms() + SFK_OPS_END_WAIT_MS;
    pthread_mutex_lock(&e->ops_lock);
    for (;;) {
        int running = 0;
        for (sfk_pend *op = e->ops_head; op; op = op->next)
            running += op->state == OP_RUNNING;
        int64_t left = until - mono_ms();
        if (!running || left <= 0)
            break;
        struct timespec ts;
        deadline_in(&ts, (int)(left < 50 ? left : 50));
        pthread_cond_timedwait(&e->ops_cond, &e->ops_lock, &ts);
    }
    pthread_mutex_unlock(&e->ops_lock);
}

int sfk_pending_orphan(sfk_engine *e)
{
    pthread_mutex_lock(&e->ops_lock);
    sfk_pend *list = e->ops_head;
    e->ops_head = e->ops_tail = NULL;
    e->ops_count = 0;
    e->ops_bytes = 0;
    e->orphaned = 1; /* no buffer is kept from now on */
    e->ops_live++;   /* the engine's own hold, dropped below */
    uint8_t *bufs[SFK_OPS_MAX];
    int nbufs = take_kept_locked(e, bufs);
    pthread_mutex_unlock(&e->ops_lock);
    give_to_spares(bufs, nbufs);
    while (list) {
        sfk_pend *next = list->next;
        op_release(list); /* the list's reference */
        list = next;
    }
    pthread_mutex_lock(&e->ops_lock);
    int last = --e->ops_live == 0;
    pthread_mutex_unlock(&e->ops_lock);
    return last;
}

/* ---- the public token ----------------------------------------------------------------------- */

SFTPKIT_API sftpkit_request *sftpkit_server_defer_request(sftpkit_server *s, int64_t connection_id, const char *handle)
{
    sfk_pend *op = running_op;
    if (!s || !op || op->e->server != s || op->e->conn_id != connection_id ||
        (handle && *handle && strcmp(handle, op->handle))) {
        sfk_error(SFTPKIT_ERROR_INVALID_STATE,
                  "defer_request: no read or write of connection %lld, handle \"%s\" is running on this thread "
                  "(call it from on_read_file or on_write_file)",
                  (long long)connection_id, handle ? handle : "");
        return NULL;
    }
    sfk_engine *e = op->e;
    pthread_mutex_lock(&e->ops_lock);
    int twice = op->deferred;
    if (!twice) {
        op->deferred = 1;
        op->refs++; /* the token's */
    }
    pthread_mutex_unlock(&e->ops_lock);
    if (twice) {
        sfk_error(SFTPKIT_ERROR_INVALID_STATE, "defer_request: this request was already deferred");
        return NULL;
    }
    sfk_ok();
    return (sftpkit_request *)op;
}

SFTPKIT_API int sftpkit_request_complete(sftpkit_request *r, int operation_status, const uint8_t *data, size_t len)
{
    sfk_pend *op = (sfk_pend *)r;
    if (!op)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "request_complete: NULL request");
    if (!data && len)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "request_complete: NULL data");
    sfk_engine *e = op->e;
    pthread_mutex_lock(&e->ops_lock);
    int bad = op->completed || !op->deferred;
    if (!bad) {
        op->completed = 1;
        op->on_cancel = NULL; /* never called after this returns */
        /* A cancel handler running on another thread finishes first, so once complete returns
         * the caller may free what the handler uses. Its own thread may complete from inside it. */
        while (op->cancel_running && !pthread_equal(op->cancel_thread, pthread_self()))
            pthread_cond_wait(&e->ops_cond, &e->ops_lock);
    }
    int cancelled = op->cancelled;
    pthread_mutex_unlock(&e->ops_lock);
    if (bad)
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "request_complete: the request is not deferred");
    int st = sfk_status_from_ost(operation_status);
    size_t n = 0;
    if (!cancelled && op->type == SSH_FXP_READ && st == SSH_FX_OK) {
        n = len < op->len ? len : op->len; /* the client asked for at most Count bytes */
        if (n)
            memcpy(op->data, data, n); /* only the token holder writes the buffer now */
    }
    pthread_mutex_lock(&e->ops_lock);
    op->status = st;
    op->got = n;
    if (op->state == OP_DEFERRED) {
        op->state = OP_DONE;
        schedule(e);
        pthread_cond_broadcast(&e->ops_cond);
    }
    pthread_mutex_unlock(&e->ops_lock);
    op_release(op);
    return sfk_ok();
}

SFTPKIT_API int sftpkit_request_set_status_message(sftpkit_request *r, const char *message)
{
    sfk_pend *op = (sfk_pend *)r;
    if (!op)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "request_set_status_message: NULL request");
    int oom;
    char *copy = sfk_host_message_copy(message, &oom);
    if (oom)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    sfk_engine *e = op->e;
    pthread_mutex_lock(&e->ops_lock);
    int bad = op->completed || !op->deferred;
    if (!bad) {
        free(op->message);
        op->message = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&e->ops_lock);
    free(copy);
    if (bad)
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "request_set_status_message: the request is not deferred");
    return sfk_ok();
}

SFTPKIT_API int sftpkit_request_get_data(const sftpkit_request *r, const uint8_t **data, size_t *len)
{
    const sfk_pend *op = (const sfk_pend *)r;
    if (!op || !data || !len)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "request_get_data: NULL argument");
    *data = op->type == SSH_FXP_WRITE ? op->data : NULL;
    *len = op->type == SSH_FXP_WRITE ? op->len : 0;
    return sfk_ok();
}

SFTPKIT_API int sftpkit_request_cancelled(const sftpkit_request *r)
{
    const sfk_pend *op = (const sfk_pend *)r;
    if (!op)
        return 0;
    pthread_mutex_lock(&op->e->ops_lock);
    int why = op->cancelled;
    pthread_mutex_unlock(&op->e->ops_lock);
    return why;
}

SFTPKIT_API int sftpkit_request_set_cancel_handler(sftpkit_request *r, sftpkit_request_cancel_fn fn, void *user)
{
    sfk_pend *op = (sfk_pend *)r;
    if (!op)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "request_set_cancel_handler: NULL request");
    sfk_engine *e = op->e;
    pthread_mutex_lock(&e->ops_lock);
    int why = op->cancelled;
    if (!why) {
        op->on_cancel = fn;
        op->cancel_user = user;
    }
    pthread_mutex_unlock(&e->ops_lock);
    if (why && fn)
        fn(user, r, why); /* already cancelled: tell at once */
    return sfk_ok();
}
