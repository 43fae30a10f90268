/* OPENDIR, READDIR, MKDIR, RMDIR, and the CLOSE of a directory handle. A listing is either
 * the local directory (entries read and encoded straight into the reply) or the application's
 * (on_before_find -> fraCustom: on_find_first / on_find_next / on_find_close, with entries
 * committed through set_client_file_entry). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sftp/engine_int.h"
#include "sftp/host.h"
#include "sftp/status.h"
#include "sftpkit/sftpkit_consts.h"
#include "util/log.h"

/* One NAME reply carries up to this many entries / bytes (OpenSSH's client takes replies up to
 * 256 KiB; bigger batches mean fewer round trips for `ls -l` of large directories). */
#define SFK_READDIR_MAX_ENTRIES 1024
#define SFK_READDIR_MAX_BYTES (112u * 1024u)
/* on_find_next answering ostOk without committing an entry this many times in a row ends the
 * listing: the document warns such a handler would otherwise loop forever. */
#define SFK_FIND_MAX_EMPTY 1000

/* Runs on_find_first or on_find_next with set_client_file_entry appending to h's listing. */
static int find_event(sfk_engine *e, sfk_handle *h, int first, char **name)
{
    sfk_ctx ctx = {.kind = SFK_CTX_FIND, .handle = h->name, .path = h->path, .find = h};
    sfk_ctx_enter(e, &ctx);
    int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
    int ran = first ? sfk_host_on_find_first(&e->host, e->conn_id, h->path, &ost, name)
                    : sfk_host_on_find_next(&e->host, e->conn_id, h->name, &ost);
    sfk_ctx_leave(e);
    if (!ran)
        return SSH_FX_OP_UNSUPPORTED;
    if (ost == SFTPKIT_OPERATION_STATUS_OSTEOF) {
        h->listing_eof = 1;
        return SSH_FX_OK;
    }
    return sfk_status_from_ost(ost);
}

void sfk_req_opendir(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (st)
        return sfk_reply_status(e, r->id, st);
    int action = sfk_app_before(e, SFK_OP_FIND, e->abs1, NULL);
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT)
        return sfk_reply_status(e, r->id, SSH_FX_PERMISSION_DENIED);
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO && !e->fs)
        return sfk_reply_status(e, r->id, SSH_FX_OP_UNSUPPORTED);
    sfk_handle *h = sfk_handle_new(e, SFK_H_DIR, e->abs1);
    if (!h)
        return sfk_reply_status(e, r->id, SSH_FX_FAILURE);
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM) {
        h->custom = 1;
        char *name = strdup(h->name);
        st = name ? find_event(e, h, 1, &name) : SSH_FX_FAILURE;
        if (st == SSH_FX_OK && sfk_handle_rename(e, h, name) < 0)
            st = SSH_FX_FAILURE;
        free(name);
    } else {
        int rc = sfk_fs_opendir(e->fs, e->rel1, &h->dir);
        st = rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
    }
    if (st) {
        sfk_handle_release(e, h);
        return sfk_reply_status(e, r->id, st);
    }
    sfk_reply_handle(e, r->id, h);
}

/* In use_utf8 mode a name that is not UTF-8 is shown as ISO-8859-1 converted to UTF-8. */
static const char *client_name(const sfk_engine *e, const char *name, char *buf, size_t cap)
{
    size_t len = strlen(name);
    if (!e->utf8 || sfk_utf8_valid(name, len))
        return name;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && o + 3 < cap; p++) {
        if (*p < 0x80) {
            buf[o++] = (char)*p;
        } else {
            buf[o++] = (char)(0xc0 | *p >> 6);
            buf[o++] = (char)(0x80 | (*p & 0x3f));
        }
    }
    buf[o] = '\0';
    return buf;
}

static void readdir_local(sfk_engine *e, uint32_t id, sfk_handle *h)
{
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_NAME);
    sfk_wr_u32(&e->out, id);
    size_t count_at = e->out.len;
    sfk_wr_u32(&e->out, 0);
    uint32_t count = 0;
    int dfd = dirfd(h->dir);
    int is_root = !strcmp(h->path, "/");
    int err = 0;
    while (count < SFK_READDIR_MAX_ENTRIES && e->out.len - start < SFK_READDIR_MAX_BYTES && !e->out.oom) {
        errno = 0;
        struct dirent *de = readdir(h->dir);
        if (!de) {
            err = errno;
            break;
        }
        struct stat sb;
        /* The root's ".." is the root itself for the client (as in a chroot): describing the
         * host's parent would show its owner, times and link count (how many sibling roots). */
        const char *entry = is_root && !strcmp(de->d_name, "..") ? "." : de->d_name;
        if (fstatat(dfd, entry, &sb, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* removed meanwhile */
        sfk_attrs a;
        sfk_attrs_from_stat(&a, &sb);
        char conv[2 * 256 + 4];
        const char *name = client_name(e, de->d_name, conv, sizeof conv);
        if (name != de->d_name) { /* shown converted: v6 also sends the name as on disk */
            a.flags |= SFK_A_UNTRANSLATED;
            a.untranslated = de->d_name;
            a.untranslated_len = strlen(de->d_name);
        }
        sfk_encode_entry(e, &e->out, name, strlen(name), &a, NULL, NULL);
        count++;
    }
    if (count == 0) {
        e->out.len = start;
        return sfk_reply_status(e, id, err ? sfk_status_from_errno(err) : SSH_FX_EOF);
    }
    if (!e->out.oom)
        sfk_put_u32(e->out.data + count_at, count);
    sfk_wr_end(&e->out, start);
}

static void readdir_custom(sfk_engine *e, uint32_t id, sfk_handle *h)
{
    int st = SSH_FX_OK, empty = 0;
    while (h->listing_count < SFK_READDIR_MAX_ENTRIES && h->listing.len < SFK_READDIR_MAX_BYTES && !h->listing_eof) {
        uint32_t before = h->listing_count;
        st = find_event(e, h, 0, NULL);
        if (st)
            break;
        if (h->listing_count == before && !h->listing_eof && ++empty >= SFK_FIND_MAX_EMPTY) {
            sfk_log(e->server, SFK_LOG_WARNING, "sftp",
                    "connection %lld: on_find_next gave no entry %d times without ostEOF; listing of %s ended",
                    (long long)e->conn_id, empty, h->path);
            h->listing_eof = 1;
        }
    }
    if (h->listing_count == 0)
        return sfk_reply_status(e, id, st ? st : SSH_FX_EOF);
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_NAME);
    sfk_wr_u32(&e->out, id);
    sfk_wr_u32(&e->out, h->listing_count);
    sfk_wr_bytes(&e->out, h->listing.data, h->listing.len);
    sfk_wr_end(&e->out, start);
    h->listing.len = 0;
    h->listing_count = 0;
}

void sfk_req_readdir(sfk_engine *e, sfk_req *r)
{
    sfk_handle *h = sfk_take_handle(e, &r->rd);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (!h || h->kind != SFK_H_DIR)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_HANDLE);
    if (h->custom)
        readdir_custom(e, r->id, h);
    else
        readdir_local(e, r->id, h);
}

int sfk_close_dir(sfk_engine *e, sfk_handle *h)
{
    int st = SSH_FX_OK;
    if (h->custom) {
        int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
        if (sfk_host_on_find_close(&e->host, e->conn_id, h->name, &ost))
            st = sfk_status_from_ost(ost);
    } else {
        pthread_mutex_lock(&e->ctx_lock);
        if (closedir(h->dir) < 0)
            st = sfk_status_from_errno(errno);
        h->dir = NULL;
        pthread_mutex_unlock(&e->ctx_lock);
    }
    sfk_audit_close(e, h, st);
    sfk_handle_release(e, h);
    return st;
}

/* ---- MKDIR / RMDIR -------------------------------------------------------------------------- */

void sfk_req_mkdir(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    sfk_attrs a;
    sfk_attrs_decode(&r->rd, e->version, &a);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (st)
        return sfk_reply_status(e, r->id, st);
    if (e->read_only) {
        st = SSH_FX_WRITE_PROTECT;
    } else {
        int action = sfk_app_before(e, SFK_OP_CREATE_DIRECTORY, e->abs1, NULL);
        if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT) {
            st = SSH_FX_PERMISSION_DENIED;
        } else if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM) {
            st = sfk_app_custom(e, SFK_OP_CREATE_DIRECTORY, e->abs1, NULL);
        } else if (!e->fs) {
            st = SSH_FX_OP_UNSUPPORTED;
        } else {
            int rc = sfk_fs_mkdir(e->fs, e->rel1, (a.flags & SFK_A_PERMS) ? sfk_client_perm(e, a.perm) : 0777);
            st = rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
        }
    }
    sfk_app_after(e, SFK_OP_CREATE_DIRECTORY, e->abs1, NULL, &st);
    sfk_reply_status(e, r->id, st);
}

/* REMOVE and RMDIR: on_before_remove / on_remove / on_after_remove around unlink or rmdir. */
void sfk_do_remove(sfk_engine *e, uint32_t id, int directory)
{
    int st;
    if (e->read_only) {
        st = SSH_FX_WRITE_PROTECT;
    } else {
        int action = sfk_app_before(e, SFK_OP_REMOVE, e->abs1, NULL);
        if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT) {
            st = SSH_FX_PERMISSION_DENIED;
        } else if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM) {
            st = sfk_app_custom(e, SFK_OP_REMOVE, e->abs1, NULL);
        } else if (!e->fs) {
            st = SSH_FX_OP_UNSUPPORTED;
        } else {
            int rc = directory ? sfk_fs_rmdir(e->fs, e->rel1) : sfk_fs_unlink(e->fs, e->rel1);
            st = rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
        }
    }
    sfk_app_after(e, SFK_OP_REMOVE, e->abs1, NULL, &st);
    sfk_reply_status(e, id, st);
}

void sfk_req_rmdir(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (st)
        return sfk_reply_status(e, r->id, st);
    sfk_do_remove(e, r->id, 1);
}
