/* OPEN, READ, WRITE, CLOSE of files. READ data goes from pread() straight into the output
 * queue and WRITE data from the received packet straight into pwrite(): no copy and no
 * allocation per request on the local path. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sftp/engine_int.h"
#include "sftp/host.h"
#include "sftp/status.h"
#include "sftp/version.h"
#include "sftpkit/sftpkit_consts.h"
#include "util/metrics.h"

/* on_open_file: the application opens it; it may rename the generated handle. */
static int open_custom(sfk_engine *e, sfk_handle *h)
{
    int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
    char *name = strdup(h->name);
    if (!name)
        return SSH_FX_FAILURE;
    int ran = sfk_host_on_open_file(&e->host, e->conn_id, h->path, h->open.modes, h->open.access, &ost, &name);
    int st = ran ? sfk_status_from_ost(ost) : SSH_FX_OP_UNSUPPORTED;
    if (st == SSH_FX_OK && sfk_handle_rename(e, h, name) < 0)
        st = SSH_FX_FAILURE; /* empty, too long, or already in use */
    free(name);
    return st;
}

/* The local file system's open. With v5+ BLOCK_* flags (ext_v6.c) the lock is taken before
 * any truncation, so an OPEN that conflicts changes nothing. */
static int open_local(sfk_engine *e, sfk_handle *h, const sfk_attrs *a)
{
    int st = h->open.access ? sfk_open_lock_allowed(&h->open) : SSH_FX_OK;
    if (st)
        return st;
    mode_t mode = (a->flags & SFK_A_PERMS) ? sfk_client_perm(e, a->perm) : 0666;
    int fl = sfk_open_oflags(&h->open);
    int trunc = h->open.access && (fl & O_TRUNC);
    int fd = sfk_fs_open(e->fs, e->rel1, trunc ? fl & ~O_TRUNC : fl, mode, !h->open.nofollow);
    if (fd < 0)
        return sfk_status_from_errno(-fd);
    h->fd = fd;
    st = h->open.access ? sfk_open_lock(h) : SSH_FX_OK;
    if (!st && trunc && ftruncate(fd, 0) < 0)
        st = sfk_status_from_errno(errno);
    if (st) {
        close(fd);
        h->fd = -1;
    }
    return st;
}

void sfk_req_open(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    sfk_open_req o;
    int ost = sfk_open_decode(e, &r->rd, &o); /* v3 pflags, or v5+ access + flags */
    sfk_attrs a;
    sfk_attrs_decode(&r->rd, e->version, &a);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (!st)
        st = ost;
    if (st)
        return sfk_reply_status(e, r->id, st);
    int upload = sfk_open_is_write(&o);
    if (upload && e->read_only)
        return sfk_reply_status(e, r->id, SSH_FX_WRITE_PROTECT);
    int action = sfk_app_before(e, upload ? SFK_OP_UPLOAD : SFK_OP_DOWNLOAD, e->abs1, NULL);
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT)
        return sfk_reply_status(e, r->id, SSH_FX_PERMISSION_DENIED);
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO && !e->fs)
        return sfk_reply_status(e, r->id, SSH_FX_OP_UNSUPPORTED);
    sfk_handle *h = sfk_handle_new(e, SFK_H_FILE, e->abs1);
    if (!h)
        return sfk_reply_status(e, r->id, SSH_FX_FAILURE);
    h->open = o;
    h->notify = sfk_app_notify_enabled(e);
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM) {
        h->custom = 1;
        st = open_custom(e, h);
    } else {
        st = open_local(e, h, &a);
    }
    if (st) {
        sfk_handle_release(e, h);
        return sfk_reply_status(e, r->id, st);
    }
    if (h->notify)
        sfk_app_notify(e, "FileOpen", "ConnectionID=%lld;Path=%s;Handle=%s;Modes=%lld;Access=%lld;DesiredAccess=%u",
                       (long long)e->conn_id, h->path, h->name, (long long)h->open.modes, (long long)h->open.access,
                       h->open.desired_access);
    sfk_reply_handle(e, r->id, h);
}

/* on_read_file: the handler's set_client_buffer writes into `data` (room for len bytes). */
static int read_custom(sfk_engine *e, sfk_handle *h, uint64_t off, uint32_t len, uint8_t *data, size_t *got)
{
    sfk_ctx ctx = {.kind = SFK_CTX_READ, .handle = h->name, .path = h->path, .rdata = data, .rcap = len};
    sfk_ctx_enter(e, &ctx);
    int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
    int ran = sfk_host_on_read_file(&e->host, e->conn_id, h->name, (int64_t)off, len, &ost);
    pthread_mutex_lock(&e->ctx_lock);
    *got = e->ctx.rlen;
    pthread_mutex_unlock(&e->ctx_lock);
    sfk_ctx_leave(e);
    int st = ran ? sfk_status_from_ost(ost) : SSH_FX_OP_UNSUPPORTED;
    return st == SSH_FX_OK && *got == 0 ? SSH_FX_EOF : st;
}

void sfk_req_read(sfk_engine *e, sfk_req *r)
{
    sfk_handle *h = sfk_take_handle(e, &r->rd);
    uint64_t off = sfk_rd_u64(&r->rd);
    uint32_t len = sfk_rd_u32(&r->rd);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (!h || h->kind != SFK_H_FILE)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_HANDLE);
    if (len > SFK_SFTP_MAX_RW_LENGTH)
        len = SFK_SFTP_MAX_RW_LENGTH; /* a short read is allowed; clients ask again */
    if (len == 0) {
        /* OpenSSH answers an empty DATA, not EOF: "nothing asked, nothing read" says nothing
         * about the end of the file. */
        size_t start = sfk_wr_begin(&e->out, SSH_FXP_DATA);
        sfk_wr_u32(&e->out, r->id);
        sfk_wr_str(&e->out, "", 0);
        return sfk_wr_end(&e->out, start);
    }
    /* Reserve the reply (length, type, id, data length) and read into it in place. */
    if (sfk_buf_reserve(&e->out, 13 + (size_t)len) < 0)
        return;
    uint8_t *pkt = e->out.data + e->out.len;
    size_t got = 0;
    int st = SSH_FX_OK;
    if (h->custom) {
        st = read_custom(e, h, off, len, pkt + 13, &got);
    } else if (off > (uint64_t)INT64_MAX) {
        st = SSH_FX_EOF;
    } else {
        ssize_t n;
        do
            n = pread(h->fd, pkt + 13, len, (off_t)off);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            st = sfk_status_from_errno(errno);
        else if (n == 0)
            st = SSH_FX_EOF;
        got = n > 0 ? (size_t)n : 0;
    }
    h->bytes_read += got; /* for the audit record at CLOSE */
    if (h->notify)
        sfk_app_notify(e, "FileRead", "ConnectionID=%lld;Handle=%s;Offset=%llu;Count=%u;Read=%zu",
                       (long long)e->conn_id, h->name, (unsigned long long)off, len, got);
    if (st != SSH_FX_OK)
        return sfk_reply_status(e, r->id, st);
    sfk_put_u32(pkt, (uint32_t)(9 + got));
    pkt[4] = SSH_FXP_DATA;
    sfk_put_u32(pkt + 5, r->id);
    sfk_put_u32(pkt + 9, (uint32_t)got);
    e->out.len += 13 + got;
}

static int write_local(int fd, const uint8_t *data, size_t len, uint64_t off)
{
    if (off > (uint64_t)INT64_MAX)
        return SSH_FX_INVALID_PARAMETER;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, data + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sfk_status_from_errno(errno);
        if (n == 0)
            return SSH_FX_FAILURE;
        done += (size_t)n;
    }
    return SSH_FX_OK;
}

int sfk_write_stream_begin(sfk_engine *e, const uint8_t *pkt, size_t have)
{
    uint32_t plen = sfk_get_u32(pkt);
    sfk_rd rd = sfk_rd_init(pkt + 9, have - 9); /* after length, type and id */
    sfk_handle *h = sfk_take_handle(e, &rd);
    uint64_t off = sfk_rd_u64(&rd);
    uint32_t dlen = sfk_rd_u32(&rd);
    size_t hdr = have - rd.left;
    /* the data must be exactly the rest of the packet; anything odd takes the normal path */
    if (rd.bad || !h || h->kind != SFK_H_FILE || h->custom || !(h->open.write || h->open.append) ||
        off > (uint64_t)INT64_MAX - dlen || hdr + dlen != 4 + (size_t)plen)
        return 0;
    e->stream = (sfk_wstream){.active = 1,
                              .h = h,
                              .id = sfk_get_u32(pkt + 5),
                              .off = off,
                              .total = dlen,
                              .started_us = e->server ? sfk_metrics_now_us() : 0};
    sfk_write_stream_feed(e, pkt + hdr, have - hdr);
    return 1;
}

size_t sfk_write_stream_feed(sfk_engine *e, const uint8_t *p, size_t n)
{
    sfk_wstream *w = &e->stream;
    size_t take = n < (size_t)(w->total - w->done) ? n : (size_t)(w->total - w->done);
    if (take && w->status == SSH_FX_OK)
        w->status = write_local(w->h->fd, p, take, w->off + w->done);
    w->done += (uint32_t)take;
    if (w->done == w->total) {
        sfk_handle *h = w->h;
        w->active = 0;
        sfk_reply_status(e, w->id, w->status);
        if (w->status == SSH_FX_OK)
            h->bytes_written += w->total;
        if (e->server) /* the dispatch table never saw this WRITE: count it here */
            sfk_metrics_request(e->server, SSH_FXP_WRITE, sfk_status_for_version(w->status, 3),
                                sfk_metrics_now_us() - w->started_us);
        if (h->notify) {
            sfk_registry_set_current(e);
            sfk_app_notify(e, "FileWrite", "ConnectionID=%lld;Handle=%s;Offset=%llu;Count=%u", (long long)e->conn_id,
                           h->name, (unsigned long long)w->off, w->total);
            sfk_registry_set_current(NULL);
        }
    }
    return take;
}

static int write_custom(sfk_engine *e, sfk_handle *h, uint64_t off, const uint8_t *data, size_t len)
{
    sfk_ctx ctx = {.kind = SFK_CTX_WRITE, .handle = h->name, .path = h->path, .wdata = data, .wlen = len};
    sfk_ctx_enter(e, &ctx);
    int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
    int ran = sfk_host_on_write_file(&e->host, e->conn_id, h->name, (int64_t)off, &ost);
    sfk_ctx_leave(e);
    return ran ? sfk_status_from_ost(ost) : SSH_FX_OP_UNSUPPORTED;
}

void sfk_req_write(sfk_engine *e, sfk_req *r)
{
    sfk_handle *h = sfk_take_handle(e, &r->rd);
    uint64_t off = sfk_rd_u64(&r->rd);
    size_t len;
    const uint8_t *data = sfk_rd_str(&r->rd, &len);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (!h || h->kind != SFK_H_FILE)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_HANDLE);
    if (!h->open.write && !h->open.append)
        return sfk_reply_status(e, r->id, SSH_FX_PERMISSION_DENIED); /* opened for reading */
    int st = h->custom ? write_custom(e, h, off, data, len) : write_local(h->fd, data, len, off);
    if (st == SSH_FX_OK)
        h->bytes_written += len; /* for the audit record at CLOSE */
    if (h->notify)
        sfk_app_notify(e, "FileWrite", "ConnectionID=%lld;Handle=%s;Offset=%llu;Count=%zu", (long long)e->conn_id,
                       h->name, (unsigned long long)off, len);
    sfk_reply_status(e, r->id, st);
}

int sfk_close_file(sfk_engine *e, sfk_handle *h)
{
    int st = SSH_FX_OK;
    if (h->custom) {
        int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
        if (sfk_host_on_close_file(&e->host, e->conn_id, h->name, &ost))
            st = sfk_status_from_ost(ost);
    } else {
        pthread_mutex_lock(&e->ctx_lock); /* get_client_file_entry may fstat it from another thread */
        if (close(h->fd) < 0 && errno != EINTR)
            st = sfk_status_from_errno(errno);
        h->fd = -1;
        pthread_mutex_unlock(&e->ctx_lock);
    }
    if (h->notify)
        sfk_app_notify(e, "FileClose", "ConnectionID=%lld;Handle=%s;Modes=%lld", (long long)e->conn_id, h->name,
                       (long long)h->open.modes);
    sfk_audit_close(e, h, st);
    sfk_handle_release(e, h);
    return st;
}

void sfk_req_close(sfk_engine *e, sfk_req *r)
{
    sfk_handle *h = sfk_take_handle(e, &r->rd);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (!h)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_HANDLE);
    sfk_reply_status(e, r->id, h->kind == SFK_H_DIR ? sfk_close_dir(e, h) : sfk_close_file(e, h));
}
