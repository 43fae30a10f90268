/* REALPATH, REMOVE, RENAME, READLINK, SYMLINK. Paths are client paths: "/" is the session's
 * root and its home, so REALPATH never shows where the root lies; it follows symlinks inside the
 * root as OpenSSH does (fs/realpath.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sftp/engine_int.h"
#include "sftp/host.h"
#include "sftp/status.h"
#include "sftp/version.h"
#include "sftpkit/sftpkit_consts.h"

/* v6 REALPATH may ask for the attributes too (ext_v6.c). */
static void realpath_reply(sfk_engine *e, uint32_t id, const char *name)
{
    if (e->realpath_control)
        return sfk_realpath_v6_reply(e, id, name);
    sfk_reply_name1(e, id, name);
}

void sfk_do_realpath(sfk_engine *e, uint32_t id, const char *path, size_t len)
{
    if ((e->utf8 && !sfk_utf8_valid(path, len)) || len > SFK_PATH_MAX ||
        sfk_path_normalize(path, len, e->rel1, sizeof e->rel1) < 0)
        return sfk_reply_status(e, id, SSH_FX_INVALID_FILENAME);
    if (e->fs) {
        /* OpenSSH resolves symlinks (clients such as SSH.NET rely on it to act on a link's
         * target); only the last component may be missing. Without a local file system there
         * are no links, and the lexical form above is the answer. */
        int rc = sfk_fs_realpath(e->fs, path, len, e->rel1, sizeof e->rel1);
        /* v6 (a control byte): a missing part leaves the lexical form; the control byte decides
         * whether the result must exist */
        if (rc == -ENOENT && e->realpath_control)
            rc = sfk_path_normalize(path, len, e->rel1, sizeof e->rel1);
        if (rc < 0)
            return sfk_reply_errno(e, id, rc);
    }
    sfk_path_absolute(e->rel1, e->abs1, sizeof e->abs1);
    if (!e->events)
        return realpath_reply(e, id, e->abs1);
    /* on_translate_path: the handler sees the client's path and our answer, and may replace it
     * (fraCustom) or refuse (fraAbort). */
    char raw[SFK_PATH_MAX + 1];
    memcpy(raw, path, len);
    raw[len] = '\0';
    char *absolute = strdup(e->abs1);
    int64_t action = SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO;
    sfk_host_on_translate_path(&e->host, e->conn_id, raw, &absolute, &action);
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT)
        sfk_reply_status(e, id, SSH_FX_PERMISSION_DENIED);
    else if (action != SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM)
        realpath_reply(e, id, e->abs1);
    else if (!absolute || !*absolute)
        sfk_reply_status(e, id, SSH_FX_NO_SUCH_FILE);
    else
        realpath_reply(e, id, absolute);
    free(absolute);
}

void sfk_req_realpath(sfk_engine *e, sfk_req *r)
{
    if (e->version >= 6) /* control byte and compose paths */
        return sfk_realpath_v6(e, r);
    size_t len;
    const char *path = (const char *)sfk_rd_str(&r->rd, &len);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    sfk_do_realpath(e, r->id, path, len);
}

void sfk_req_remove(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (st)
        return sfk_reply_status(e, r->id, st);
    sfk_do_remove(e, r->id, 0);
}

/* Old path in slot 0, new in slot 1. SSH_FXP_RENAME refuses to replace (v3 says the target must
 * not exist); posix-rename@openssh.com replaces atomically; v5+ says which in its flags. */
void sfk_do_rename(sfk_engine *e, uint32_t id, uint32_t flags)
{
    int posix = (flags & SSH_FXF_RENAME_OVERWRITE) != 0;
    e->rename_flags = flags; /* on_rename_file's rename_flags (app.c) */
    int st;
    if (e->read_only) {
        st = SSH_FX_WRITE_PROTECT;
    } else {
        int action = sfk_app_before(e, SFK_OP_RENAME, e->abs1, e->abs2);
        if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT) {
            st = SSH_FX_PERMISSION_DENIED;
        } else if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM) {
            st = sfk_app_custom(e, SFK_OP_RENAME, e->abs1, e->abs2);
        } else if (!e->fs) {
            st = SSH_FX_OP_UNSUPPORTED;
        } else {
            int rc = sfk_fs_rename(e->fs, e->rel1, e->rel2, !posix);
            st = rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
        }
    }
    sfk_app_after(e, SFK_OP_RENAME, e->abs1, e->abs2, &st);
    sfk_reply_status(e, id, st);
}

void sfk_parse_and_rename(sfk_engine *e, sfk_req *r, int posix)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st)
        st = sfk_take_path(e, &r->rd, 1);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (st)
        return sfk_reply_status(e, r->id, st);
    sfk_do_rename(e, r->id, posix ? SSH_FXF_RENAME_OVERWRITE | SSH_FXF_RENAME_ATOMIC : 0);
}

void sfk_req_rename(sfk_engine *e, sfk_req *r)
{
    if (e->version >= 5) /* RENAME flags */
        return sfk_rename_v5(e, r);
    sfk_parse_and_rename(e, r, 0);
}

void sfk_req_readlink(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (!st && !e->fs)
        st = SSH_FX_OP_UNSUPPORTED;
    if (st)
        return sfk_reply_status(e, r->id, st);
    char target[SFK_PATH_MAX + 1];
    int n = sfk_fs_readlink(e->fs, e->rel1, target, sizeof target);
    if (n < 0)
        return sfk_reply_errno(e, r->id, n);
    if (e->utf8 && !sfk_utf8_valid(target, (size_t)n))
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_FILENAME);
    sfk_reply_name1(e, r->id, target);
}

/* Stored verbatim: links resolve inside the root (an absolute target starts at the root), so
 * whatever the client writes cannot point outside. */
static int create_symlink(sfk_engine *e)
{
    if (!e->fs)
        return SSH_FX_OP_UNSUPPORTED;
    int rc = sfk_fs_symlink(e->fs, e->link_target, e->rel1);
    return rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
}

/* OpenSSH reads (target, link path), the reverse of the draft's (link path, target). Which one a
 * client sends depends on the client and on what it thinks we are: e->symlink_draft was decided
 * per connection (sftp/symlink_order.c). */
void sfk_req_symlink(sfk_engine *e, sfk_req *r)
{
    size_t tlen;
    const char *target;
    int st;
    if (e->symlink_draft) {
        st = sfk_take_path(e, &r->rd, 0);
        target = (const char *)sfk_rd_str(&r->rd, &tlen);
    } else {
        target = (const char *)sfk_rd_str(&r->rd, &tlen);
        st = sfk_take_path(e, &r->rd, 0);
    }
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (!st &&
        (tlen == 0 || tlen > SFK_PATH_MAX || memchr(target, '\0', tlen) || (e->utf8 && !sfk_utf8_valid(target, tlen))))
        st = SSH_FX_INVALID_FILENAME;
    if (!st && e->read_only)
        st = SSH_FX_WRITE_PROTECT;
    if (st)
        return sfk_reply_status(e, r->id, st);
    memcpy(e->link_target, target, tlen);
    e->link_target[tlen] = '\0';
    sfk_reply_status(e, r->id, sfk_app_link(e, e->abs1, e->link_target, 0, create_symlink));
}
