/* STAT, LSTAT, FSTAT, SETSTAT, FSETSTAT (and lsetstat@openssh.com through sfk_do_setstat).
 * Each fires on_before_request_attributes / on_before_set_attributes, is done by the local file
 * system or by on_request_attributes / on_set_attributes, then fires the on_after_ event. A
 * handle the application opened (custom) always goes to the application. */
#include <errno.h>
#include <unistd.h>

#include "sftp/engine_int.h"
#include "sftp/host.h"
#include "sftp/status.h"
#include "sftpkit/sftpkit_consts.h"

/* on_request_attributes: the handler commits the attributes with set_client_file_entry. */
static int attrs_custom(sfk_engine *e, const char *path, const char *handle, sfk_attrs *out)
{
    sfk_ctx ctx = {.kind = SFK_CTX_ATTRS, .handle = handle, .path = path};
    sfk_ctx_enter(e, &ctx);
    int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
    int ran = sfk_host_on_request_attributes(&e->host, e->conn_id, path, handle, &ost);
    pthread_mutex_lock(&e->ctx_lock);
    int set = e->ctx.attrs_set;
    if (set)
        *out = e->ctx.attrs;
    pthread_mutex_unlock(&e->ctx_lock);
    sfk_ctx_leave(e);
    if (!set)
        out->flags = 0; /* OK without an entry: an empty attribute set */
    return ran ? sfk_status_from_ost(ost) : SSH_FX_OP_UNSUPPORTED;
}

/* The common flow; h is NULL for a path (e->abs1/rel1). */
static void request_attributes(sfk_engine *e, uint32_t id, sfk_handle *h, int follow)
{
    const char *path = h ? h->path : e->abs1;
    sfk_attrs a = {0};
    int st;
    int action = sfk_app_before(e, SFK_OP_REQUEST_ATTRIBUTES, path, NULL);
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT) {
        st = SSH_FX_PERMISSION_DENIED;
    } else if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM || (h && h->custom)) {
        st = attrs_custom(e, path, h ? h->name : "", &a);
    } else if (h) {
        struct stat sb;
        int fd = h->kind == SFK_H_DIR ? dirfd(h->dir) : h->fd;
        st = fstat(fd, &sb) < 0 ? sfk_status_from_errno(errno) : SSH_FX_OK;
        if (!st)
            sfk_attrs_from_stat(&a, &sb);
    } else if (!e->fs) {
        st = SSH_FX_OP_UNSUPPORTED;
    } else {
        struct stat sb;
        int rc = sfk_fs_stat(e->fs, e->rel1, follow, &sb);
        st = rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
        if (!st)
            sfk_attrs_from_stat(&a, &sb);
    }
    sfk_app_after(e, SFK_OP_REQUEST_ATTRIBUTES, path, NULL, &st);
    if (st)
        return sfk_reply_status(e, id, st);
    sfk_reply_attrs(e, id, &a);
}

static void path_stat(sfk_engine *e, sfk_req *r, int follow)
{
    int st = sfk_take_path(e, &r->rd, 0);
    /* v4+: the attribute flags wanted; only a hint, and phpseclib 3.0 leaves it out */
    if (!st && e->version >= 4 && r->rd.left)
        e->want_attrs = sfk_rd_u32(&r->rd);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (st)
        return sfk_reply_status(e, r->id, st);
    request_attributes(e, r->id, NULL, follow);
}

void sfk_req_stat(sfk_engine *e, sfk_req *r)
{
    path_stat(e, r, 1);
}

void sfk_req_lstat(sfk_engine *e, sfk_req *r)
{
    path_stat(e, r, 0);
}

void sfk_req_fstat(sfk_engine *e, sfk_req *r)
{
    sfk_handle *h = sfk_take_handle(e, &r->rd);
    if (e->version >= 4 && r->rd.left) /* as in path_stat */
        e->want_attrs = sfk_rd_u32(&r->rd);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (!h)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_HANDLE);
    request_attributes(e, r->id, h, 1);
}

/* ---- setting attributes --------------------------------------------------------------------- */

/* on_set_attributes: get_client_file_entry shows the handler the requested change. */
static int setstat_custom(sfk_engine *e, const char *path, const char *handle, const sfk_attrs *a)
{
    sfk_ctx ctx = {.kind = SFK_CTX_SETATTRS, .handle = handle, .path = path, .set_attrs = a};
    sfk_ctx_enter(e, &ctx);
    int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
    int ran = sfk_host_on_set_attributes(&e->host, e->conn_id, path, handle, &ost);
    sfk_ctx_leave(e);
    return ran ? sfk_status_from_ost(ost) : SSH_FX_OP_UNSUPPORTED;
}

/* Without config AllowChangeOwner a new owner or group is refused before anything changes; the
 * file's own uid/gid sent back unchanged (clients that echo every attribute) is no change. */
static int owner_change_allowed(sfk_engine *e, sfk_handle *h, int follow, sfk_fs_setattr *sa)
{
    if (!(sa->flags & SFK_FS_SET_UIDGID) || e->allow_chown)
        return SSH_FX_OK;
    struct stat sb;
    int rc = h ? (fstat(h->kind == SFK_H_DIR ? dirfd(h->dir) : h->fd, &sb) < 0 ? -errno : 0)
               : sfk_fs_stat(e->fs, e->rel1, follow, &sb);
    if (rc < 0)
        return sfk_status_from_errno(-rc);
    if (sb.st_uid != sa->uid || sb.st_gid != sa->gid)
        return SSH_FX_PERMISSION_DENIED;
    sa->flags &= ~(unsigned)SFK_FS_SET_UIDGID;
    return SSH_FX_OK;
}

static int setstat_local(sfk_engine *e, sfk_handle *h, int follow, const sfk_attrs *a)
{
    if (!h && !e->fs)
        return SSH_FX_OP_UNSUPPORTED;
    sfk_attrs named;
    if (e->version >= 4) { /* names -> ids; an ACL or attrib-bits cannot be kept: refused */
        named = *a;
        int rc = sfk_attrs_resolve_v4(&named);
        if (rc)
            return rc;
        a = &named;
    }
    sfk_fs_setattr sa;
    sfk_attrs_to_setattr(a, &sa);
    sa.mode = sfk_client_perm(e, sa.mode);
    int st = owner_change_allowed(e, h, follow, &sa);
    if (st)
        return st;
    int rc;
    if (h)
        rc = sfk_fs_fsetstat(h->kind == SFK_H_DIR ? dirfd(h->dir) : h->fd, &sa);
    else
        rc = sfk_fs_setstat(e->fs, e->rel1, follow, &sa);
    return rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
}

/* h NULL: the path in e->abs1/rel1. */
static void set_attributes(sfk_engine *e, uint32_t id, sfk_handle *h, int follow, const sfk_attrs *a)
{
    const char *path = h ? h->path : e->abs1;
    int st;
    if (e->read_only) {
        st = SSH_FX_WRITE_PROTECT;
    } else {
        int action = sfk_app_before(e, SFK_OP_SET_ATTRIBUTES, path, NULL);
        if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT)
            st = SSH_FX_PERMISSION_DENIED;
        else if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM || (h && h->custom))
            st = setstat_custom(e, path, h ? h->name : "", a);
        else
            st = setstat_local(e, h, follow, a);
    }
    sfk_app_after(e, SFK_OP_SET_ATTRIBUTES, path, NULL, &st);
    sfk_reply_status(e, id, st);
}

void sfk_do_setstat(sfk_engine *e, uint32_t id, int follow, const sfk_attrs *a)
{
    set_attributes(e, id, NULL, follow, a);
}

void sfk_req_setstat(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    sfk_attrs a;
    sfk_attrs_decode(&r->rd, e->version, &a);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (st)
        return sfk_reply_status(e, r->id, st);
    set_attributes(e, r->id, NULL, 1, &a);
}

void sfk_req_fsetstat(sfk_engine *e, sfk_req *r)
{
    sfk_handle *h = sfk_take_handle(e, &r->rd);
    sfk_attrs a;
    sfk_attrs_decode(&r->rd, e->version, &a);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (!h)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_HANDLE);
    set_attributes(e, r->id, h, 1, &a);
}
