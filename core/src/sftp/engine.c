/* The engine's life cycle, packet framing over arbitrary splits, the dispatch table and the
 * output queue.
 *
 * Framing: complete packets are processed where they lie — in the transport's buffer when
 * possible, so a WRITE's data is never copied before pwrite(). Only a packet cut by the end of
 * the transport's read is copied into `in` until the rest arrives.
 *
 * Back-pressure: when the queued output passes SFK_OUT_HIGH, the remaining requests wait in `in`
 * and sfk_engine_consume() resumes them as the transport drains the queue, so a client with
 * thousands of READs in flight costs a bounded amount of memory (engine_int.h). */
#include "sftp/engine_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/errors.h"
#include "sftp/status.h"
#include "sftp/symlink_order.h"
#include "sftp/version.h"
#include "util/audit.h"
#include "util/log.h"
#include "util/metrics.h"

#define SFK_READ_SIZE (4u * 1024u * 1024u)

/* ---- dispatch ------------------------------------------------------------------------------- */

static const struct {
    sfk_req_fn fn;
    uint8_t min_version; /* the first version that has the request */
} dispatch_table[SSH_FXP_EXTENDED + 1] = {
    [SSH_FXP_OPEN] = {sfk_req_open, 0},         [SSH_FXP_CLOSE] = {sfk_req_close, 0},
    [SSH_FXP_READ] = {sfk_req_read, 0},         [SSH_FXP_WRITE] = {sfk_req_write, 0},
    [SSH_FXP_LSTAT] = {sfk_req_lstat, 0},       [SSH_FXP_FSTAT] = {sfk_req_fstat, 0},
    [SSH_FXP_SETSTAT] = {sfk_req_setstat, 0},   [SSH_FXP_FSETSTAT] = {sfk_req_fsetstat, 0},
    [SSH_FXP_OPENDIR] = {sfk_req_opendir, 0},   [SSH_FXP_READDIR] = {sfk_req_readdir, 0},
    [SSH_FXP_REMOVE] = {sfk_req_remove, 0},     [SSH_FXP_MKDIR] = {sfk_req_mkdir, 0},
    [SSH_FXP_RMDIR] = {sfk_req_rmdir, 0},       [SSH_FXP_REALPATH] = {sfk_req_realpath, 0},
    [SSH_FXP_STAT] = {sfk_req_stat, 0},         [SSH_FXP_RENAME] = {sfk_req_rename, 2},
    [SSH_FXP_READLINK] = {sfk_req_readlink, 3}, [SSH_FXP_SYMLINK] = {sfk_req_symlink, 3},
    [SSH_FXP_EXTENDED] = {sfk_req_extended, 3}, [SSH_FXP_LINK] = {sfk_req_link, 6},
    [SSH_FXP_BLOCK] = {sfk_req_block, 6},       [SSH_FXP_UNBLOCK] = {sfk_req_unblock, 6},
};

static void fatal(sfk_engine *e, const char *what, unsigned long long value)
{
    e->fatal = 1;
    sfk_error(SFTPKIT_ERROR_INVALID_STATE, "sftp: %s (%llu); closing the channel", what, value);
    sfk_log(e->server, SFK_LOG_WARNING, "sftp", "connection %lld: %s (%llu)", (long long)e->conn_id, what, value);
}

/* The one place every dispatched request passes after its handler: the reply it queued at
 * reply_at tells its status (a streamed WRITE replies later and is counted by files.c). */
static void request_done(sfk_engine *e, const uint8_t *p, uint32_t len, size_t reply_at, int64_t micros)
{
    int status = 0, handle = 0;
    if (e->out.len >= reply_at + 13 && e->out.data[reply_at + 4] == SSH_FXP_STATUS)
        status = (int)sfk_get_u32(e->out.data + reply_at + 9);
    else if (e->out.len >= reply_at + 5)
        handle = e->out.data[reply_at + 4] == SSH_FXP_HANDLE;
    sfk_metrics_request(e->server, p[0], status, micros);
    if (sfk_audit_enabled(e->server))
        sfk_audit_request(e, p, len, status, handle);
}

static void dispatch(sfk_engine *e, const uint8_t *p, uint32_t len)
{
    uint8_t type = p[0];
    if (!e->initialized) {
        if (type != SSH_FXP_INIT) {
            fatal(e, "expected SSH_FXP_INIT first, got packet type", type);
            return;
        }
        sfk_req r = {.type = type, .id = 0, .rd = sfk_rd_init(p + 1, len - 1)};
        sfk_req_init(e, &r);
        if (e->out.oom) /* the VERSION reply is lost: the client would wait for it forever */
            fatal(e, "out of memory for the VERSION reply, queued bytes", e->out.len);
        return;
    }
    if (type == SSH_FXP_INIT) {
        fatal(e, "SSH_FXP_INIT received twice, packet length", len);
        return;
    }
    e->requests++; /* every packet after INIT counts: version-select must be the first */
    if (len < 5) { /* no room for a request id: answer what we can */
        sfk_reply_status(e, 0, SSH_FX_BAD_MESSAGE);
        return;
    }
    sfk_req r = {.type = type, .id = sfk_get_u32(p + 1), .rd = sfk_rd_init(p + 5, len - 5)};
    if (type > SSH_FXP_EXTENDED || !dispatch_table[type].fn || e->version < dispatch_table[type].min_version) {
        sfk_reply_status(e, r.id, SSH_FX_OP_UNSUPPORTED);
        return;
    }
    sfk_registry_set_current(e); /* handlers reach this engine through the server's methods */
    size_t reply_at = e->out.len;
    /* in a batch, the previous request's end is this one's start: one clock read per request */
    int64_t started = !e->server ? 0 : e->clock_valid ? e->clock_us : sfk_metrics_now_us();
    e->abs1[0] = e->abs2[0] = '\0'; /* so the audit knows which paths this request took */
    sfk_host_message_clear();       /* no handler text left from anything before this request */
    e->want_attrs = 0;
    dispatch_table[type].fn(e, &r);
    sfk_registry_set_current(NULL);
    if (e->server) {
        e->clock_us = sfk_metrics_now_us();
        e->clock_valid = 1;
        request_done(e, p, len, reply_at, e->clock_us - started);
        if (sfk_audit_enabled(e->server))
            e->clock_valid = 0; /* an audit write must not count as the next request's time */
    }
    if (e->out.oom)
        fatal(e, "out of memory for replies, queued bytes", e->out.len);
}

static int out_full(const sfk_engine *e)
{
    return e->out.len - e->out_off >= SFK_OUT_HIGH;
}

/* Processes the complete packets at the start of [p, p+len) until the output is full; returns
 * the bytes used, or -1 after a fatal error. */
static long process(sfk_engine *e, const uint8_t *p, size_t len)
{
    size_t off = 0;
    e->clock_valid = 0; /* time passed since the last batch: the first request reads the clock */
    while (!e->fatal && !out_full(e) && len - off >= 4) {
        uint32_t plen = sfk_get_u32(p + off);
        if (plen == 0 || plen > SFK_SFTP_MAX_PACKET_ACCEPTED) {
            fatal(e, plen ? "packet length over the limit" : "empty packet", plen);
            break;
        }
        if (len - off - 4 < plen)
            break;
        /* READ/WRITE of a virtual file run in parallel (sftp/pending.h); anything else waits
         * until they are done */
        int offer = sfk_pending_offer(e, p + off + 4, plen);
        if (offer == SFK_OFFER_FULL || (offer == SFK_OFFER_NO && sfk_pending_count(e))) {
            e->holding = 1;
            break;
        }
        if (offer == SFK_OFFER_NO)
            dispatch(e, p + off + 4, plen);
        else if (!e->pool)
            sfk_pending_collect(e); /* inline: the handler runs now, as before */
        off += 4 + (size_t)plen;
    }
    return e->fatal ? -1 : (long)off;
}

/* Checks the length fields of packets queued in `in` as they arrive, so an impossible length
 * fails the call that delivered it even while requests are held back. */
static int scan_lengths(sfk_engine *e)
{
    size_t *scan = &e->in_scan;
    while (e->in.len - *scan >= 4) {
        uint32_t plen = sfk_get_u32(e->in.data + *scan);
        if (plen == 0 || plen > SFK_SFTP_MAX_PACKET_ACCEPTED) {
            fatal(e, plen ? "packet length over the limit" : "empty packet", plen);
            return -1;
        }
        if (e->in.len - *scan - 4 < plen)
            break;
        *scan += 4 + (size_t)plen;
    }
    return 0;
}

static int queue_input(sfk_engine *e, const uint8_t *data, size_t len)
{
    if (!len)
        return 0;
    if (e->in_off && e->in_off == e->in.len)
        e->in.len = e->in_off = e->in_scan = 0;
    if (e->in.len == e->in_off)
        e->stream_checked = 0; /* a new packet starts */
    sfk_wr_bytes(&e->in, data, len);
    if (e->in.oom) {
        fatal(e, "out of memory for input, bytes", len);
        return -1;
    }
    return scan_lengths(e);
}

/* Runs held-back packets from `in` while the output has room. */
static int drain_input(sfk_engine *e)
{
    e->holding = 0; /* process() sets it again if the first request must still wait */
    if (e->in.len == e->in_off)
        return 0;
    long n = process(e, e->in.data + e->in_off, e->in.len - e->in_off);
    if (n < 0)
        return -1;
    e->in_off += (size_t)n;
    if (n > 0)
        e->stream_checked = 0; /* the first pending packet is another one now */
    if (e->in_off == e->in.len) {
        e->in.len = e->in_off = e->in_scan = 0;
    } else if (e->in_off > e->in.len / 2) {
        memmove(e->in.data, e->in.data + e->in_off, e->in.len - e->in_off);
        e->in.len -= e->in_off;
        e->in_scan -= e->in_off;
        e->in_off = 0;
    }
    return 0;
}

/* How many bytes the partial packet in `in` should have before the engine acts on it: its length
 * field, then (for a large WRITE) enough to read its header, then all of it. 0: a WRITE began
 * streaming and `in` was emptied. */
static size_t partial_goal(sfk_engine *e, size_t pending)
{
    const uint8_t *p = e->in.data + e->in_off;
    if (pending < 4)
        return 4;
    size_t full = 4 + (size_t)sfk_get_u32(p);
    if (e->stream_checked || !e->initialized || full < SFK_STREAM_MIN)
        return full;
    if (pending < 13)
        return 13; /* length, type, id, handle length */
    if (p[4] != SSH_FXP_WRITE || sfk_get_u32(p + 9) > SFK_SFTP_MAX_HANDLE_LEN) {
        e->stream_checked = 1;
        return full;
    }
    size_t hdr = 13 + (size_t)sfk_get_u32(p + 9) + 12; /* + offset and data length */
    if (hdr >= full) {
        e->stream_checked = 1;
        return full;
    }
    if (pending < hdr)
        return hdr;
    e->stream_checked = 1;
    if (pending == full || !sfk_write_stream_begin(e, p, pending))
        return full;
    e->in.len = e->in_off = e->in_scan = 0; /* header and data are done with */
    e->stream_checked = 0;
    return 0;
}

/* The tail of the transport's buffer is the start of a large WRITE whose header is complete:
 * stream it from here rather than copying it into `in`. */
static int stream_in_place(sfk_engine *e, const uint8_t *p, size_t len)
{
    if (len < 13 || !e->initialized || p[4] != SSH_FXP_WRITE)
        return 0;
    size_t full = 4 + (size_t)sfk_get_u32(p);
    size_t hdr = 13 + (size_t)sfk_get_u32(p + 9) + 12;
    if (full < SFK_STREAM_MIN || len >= full || sfk_get_u32(p + 9) > SFK_SFTP_MAX_HANDLE_LEN || len < hdr ||
        hdr >= full)
        return 0;
    return sfk_write_stream_begin(e, p, len);
}

int sfk_engine_input(sfk_engine *e, const uint8_t *data, size_t len)
{
    if (!e)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "sftp engine: NULL"), -1;
    if (e->fatal)
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "sftp engine: the channel already failed"), -1;
    if (!data && len)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "sftp engine: NULL data"), -1;
    for (;;) {
        if (e->stream.active) { /* the rest of a WRITE's data goes straight to the file */
            size_t n = sfk_write_stream_feed(e, data, len);
            data += n, len -= n;
            if (e->out.oom) {
                fatal(e, "out of memory for replies, queued bytes", e->out.len);
                return -1;
            }
            if (e->stream.active)
                return 0;
            continue;
        }
        size_t pending = e->in.len - e->in_off;
        if (!pending)
            break;
        if (out_full(e) || e->holding) /* held back: everything waits behind the queued requests */
            return queue_input(e, data, len);
        /* `in` holds one partial packet: copy just what the next step needs, then go on in place */
        size_t goal = partial_goal(e, pending);
        if (goal == 0)
            continue;
        if (pending < goal) {
            size_t take = goal - pending < len ? goal - pending : len;
            if (queue_input(e, data, take) < 0)
                return -1;
            data += take, len -= take;
            if (pending + take < goal)
                return 0;
            continue;
        }
        e->stream_checked = 0;
        if (drain_input(e) < 0)
            return -1;
        if (e->in.len != e->in_off) /* still held back (output full, or parallel requests) */
            return queue_input(e, data, len);
    }
    long n = process(e, data, len);
    if (n < 0)
        return -1;
    data += n, len -= (size_t)n;
    if (!out_full(e) && !e->holding && stream_in_place(e, data, len))
        return 0;
    return queue_input(e, data, len);
}

int sfk_engine_poll(sfk_engine *e, int wait_ms)
{
    if (!e || e->fatal)
        return 0;
    if (e->ops_head) {
        sfk_pending_wait(e, wait_ms);
        sfk_pending_collect(e);
    }
    if (e->holding && !out_full(e))
        drain_input(e);
    return sfk_pending_count(e);
}

void sfk_engine_idle(sfk_engine *e)
{
    if (e)
        sfk_pending_trim(e);
}

int sfk_engine_wants_input(const sfk_engine *e)
{
    return e && !e->fatal && !e->holding && !out_full(e);
}

const uint8_t *sfk_engine_output(sfk_engine *e, size_t *len)
{
    if (!e || e->out.len == e->out_off) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = e->out.len - e->out_off;
    return e->out.data + e->out_off;
}

void sfk_engine_consume(sfk_engine *e, size_t n)
{
    if (!e)
        return;
    size_t queued = e->out.len - e->out_off;
    e->out_off += n < queued ? n : queued;
    if (e->out_off == e->out.len) {
        e->out.len = e->out_off = 0;
    } else if (e->out_off > e->out.cap / 2) {
        memmove(e->out.data, e->out.data + e->out_off, e->out.len - e->out_off);
        e->out.len -= e->out_off;
        e->out_off = 0;
    }
    if (!e->fatal && e->ops_head)
        sfk_pending_collect(e); /* replies that waited for room */
    if (!e->fatal && !out_full(e))
        drain_input(e);
}

int sfk_engine_has_open_files(const sfk_engine *e)
{
    if (!e)
        return 0;
    if (e->stream.active || e->in.len != e->in_off || e->ops_count) /* a request arriving, held or running */
        return 1;
    for (uint32_t i = 0; i < e->handles.cap; i++)
        if (e->handles.slots[i].kind == SFK_H_FILE)
            return 1;
    return 0;
}

size_t sfk_engine_read_size(const sfk_engine *e)
{
    (void)e;
    return SFK_READ_SIZE;
}

/* ---- request helpers ------------------------------------------------------------------------ */

int sfk_take_path(sfk_engine *e, sfk_rd *rd, int slot)
{
    size_t len;
    const char *s = (const char *)sfk_rd_str(rd, &len);
    if (rd->bad)
        return SSH_FX_BAD_MESSAGE;
    if (e->utf8 && !sfk_utf8_valid(s, len))
        return SSH_FX_INVALID_FILENAME;
    char *rel = slot ? e->rel2 : e->rel1;
    char *abs = slot ? e->abs2 : e->abs1;
    int n = sfk_path_normalize(s, len, rel, SFK_PATH_MAX + 1);
    if (n < 0)
        return SSH_FX_INVALID_FILENAME;
    sfk_path_absolute(rel, abs, SFK_PATH_MAX + 2);
    return 0;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

void sfk_session_settings_defaults(sfk_session_settings *out)
{
    memset(out, 0, sizeof *out);
    out->min_version = SFK_SFTP_VERSION_MIN;
    out->max_version = SFK_SFTP_VERSION_MAX;
    out->symlink_order = SFK_SYMLINK_AUTO;
}

/* The SYMLINK order for this connection: forced by config, else from the client's banner and the
 * software name we announce (which is what the adapting clients look at). */
static void read_symlink_order(sfk_engine *e, const char *client_banner)
{
    const sfk_session_settings *st = &e->settings;
    if (st->symlink_order != SFK_SYMLINK_AUTO) {
        e->symlink_draft = st->symlink_order == SFK_SYMLINK_DRAFT;
        return;
    }
    /* an empty software name leaves libssh's own banner */
    const char *ours = *st->software_name ? st->software_name : "libssh_0.10.6";
    e->symlink_draft = sfk_symlink_client_sends_draft(client_banner, ours);
    if (e->symlink_draft && e->server)
        sfk_log(e->server, SFK_LOG_DEBUG, "sftp", "connection %lld: %s client: SYMLINK in the draft's order",
                (long long)e->conn_id, sfk_symlink_client_family(client_banner));
}

/* The session's settings: one snapshot from the host, taken now. Requests read the engine's
 * copies, never the server's properties (a change there applies to the next session). */
static void read_settings(sfk_engine *e)
{
    sfk_session_settings_defaults(&e->settings);
    if (e->host.ops && e->host.ops->settings)
        e->host.ops->settings(e->host.ctx, &e->settings);
    const sfk_session_settings *st = &e->settings;
    e->events = e->host.ops != NULL;
    e->min_version = st->min_version;
    e->max_version = st->max_version;
    e->read_only = st->read_only;
    e->utf8 = st->utf8;
    e->workers = st->workers;
    e->allow_special_mode = st->allow_special_mode;
    e->allow_chown = st->allow_chown;
}

sfk_engine *sfk_engine_new(const sfk_engine_config *cfg)
{
    if (!cfg) {
        sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "sftp engine: NULL config");
        return NULL;
    }
    sfk_engine *e = calloc(1, sizeof *e);
    if (!e) {
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&e->ctx_lock, NULL);
    pthread_mutex_init(&e->ops_lock, NULL);
    pthread_cond_init(&e->ops_cond, NULL);
    e->stopping = cfg->stopping;
    e->server = cfg->server;
    e->host = cfg->host ? *cfg->host : sfk_server_host(cfg->server);
    e->conn_id = cfg->connection_id;
    e->handle_quota = cfg->handle_quota;
    e->quota_ctx = cfg->quota_ctx;
    e->cancel = cfg->cancel;
    snprintf(e->address, sizeof e->address, "%s", cfg->address ? cfg->address : "");
    e->port = cfg->port;
    e->username = strdup(cfg->username ? cfg->username : "");
    if (!e->username) {
        sfk_engine_free(e);
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    read_settings(e);
    read_symlink_order(e, cfg->client_banner);
    e->pool_wanted = e->events; /* the pool's threads start with the first session that needs them */
    if (cfg->root && *cfg->root) {
        int rc = sfk_fs_new(cfg->root, &e->fs);
        if (rc < 0) {
            sfk_engine_free(e);
            sfk_error(SFTPKIT_ERROR_IO, "sftp root \"%s\": %s", cfg->root, strerror(-rc));
            return NULL;
        }
    }
    if (e->server && sfk_registry_add(e) != 0) {
        sfk_engine_free(e);
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    sfk_ok();
    return e;
}

/* Why the session's pending requests end (their cancellation notice). */
static int end_reason(const sfk_engine *e)
{
    if (e->stopping && atomic_load(e->stopping))
        return SFTPKIT_REQUEST_CANCEL_STOPPING;
    if (e->cancel && atomic_load(e->cancel))
        return SFTPKIT_REQUEST_CANCEL_DROPPED;
    return SFTPKIT_REQUEST_CANCEL_DISCONNECT;
}

void sfk_engine_destroy(sfk_engine *e)
{
    pthread_mutex_destroy(&e->ctx_lock);
    pthread_mutex_destroy(&e->ops_lock);
    pthread_cond_destroy(&e->ops_cond);
    free(e);
}

void sfk_engine_free(sfk_engine *e)
{
    if (!e)
        return;
    if (e->ops_head)
        sfk_pending_cancel_all(e, end_reason(e)); /* before the close events: handlers are told first */
    sfk_registry_set_current(e);
    e->ending = 1;
    sfk_handles_close_all(e); /* fires close events for what the application still has open */
    sfk_registry_set_current(NULL);
    if (e->registered)
        sfk_registry_remove(e);
    sfk_handles_free(e);
    sfk_fs_free(e->fs);
    sfk_buf_free(&e->in);
    sfk_buf_free(&e->out);
    free(e->username);
    e->username = NULL;
    if (sfk_pending_orphan(e)) /* else a handler still out destroys it when it ends */
        sfk_engine_destroy(e);
}
