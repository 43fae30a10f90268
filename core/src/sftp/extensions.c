/* SSH_FXP_EXTENDED: OpenSSH's extensions. One table drives both the VERSION advertisement and
 * the dispatch, so an extension is advertised if and only if it is implemented. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sftp/engine_int.h"
#include "sftp/status.h"
#include "sftp/version.h"

static void ext_posix_rename(sfk_engine *e, sfk_req *r)
{
    sfk_parse_and_rename(e, r, 1);
}

static void reply_statvfs(sfk_engine *e, uint32_t id, const struct statvfs *sv)
{
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_EXTENDED_REPLY);
    sfk_wr_u32(&e->out, id);
    uint64_t flag = (sv->f_flag & ST_RDONLY) || e->read_only ? SSH2_FXE_STATVFS_ST_RDONLY : 0;
    if (sv->f_flag & ST_NOSUID)
        flag |= SSH2_FXE_STATVFS_ST_NOSUID;
    uint64_t v[11] = {sv->f_bsize, sv->f_frsize, sv->f_blocks, sv->f_bfree, sv->f_bavail, sv->f_files,
                      sv->f_ffree, sv->f_favail, sv->f_fsid,   flag,        sv->f_namemax};
    for (int i = 0; i < 11; i++)
        sfk_wr_u64(&e->out, v[i]);
    sfk_wr_end(&e->out, start);
}

int sfk_statvfs_request(sfk_engine *e, sfk_req *r, struct statvfs *sv)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (!st && !e->fs)
        st = SSH_FX_OP_UNSUPPORTED;
    if (st) {
        sfk_reply_status(e, r->id, st);
        return -1;
    }
    int rc = sfk_fs_statvfs(e->fs, e->rel1, sv);
    if (rc < 0) {
        sfk_reply_errno(e, r->id, rc);
        return -1;
    }
    return 0;
}

static void ext_statvfs(sfk_engine *e, sfk_req *r)
{
    struct statvfs sv;
    if (!sfk_statvfs_request(e, r, &sv))
        reply_statvfs(e, r->id, &sv);
}

/* The fd of a local handle, or an SFTP status. */
static int local_fd(sfk_engine *e, sfk_req *r, int *fd)
{
    sfk_handle *h = sfk_take_handle(e, &r->rd);
    if (!sfk_parsed(r))
        return SSH_FX_BAD_MESSAGE;
    if (!h)
        return SSH_FX_INVALID_HANDLE;
    if (h->custom)
        return SSH_FX_OP_UNSUPPORTED; /* no event covers it */
    *fd = h->kind == SFK_H_DIR ? dirfd(h->dir) : h->fd;
    return SSH_FX_OK;
}

static void ext_fstatvfs(sfk_engine *e, sfk_req *r)
{
    int fd = -1;
    int st = local_fd(e, r, &fd);
    if (st)
        return sfk_reply_status(e, r->id, st);
    struct statvfs sv;
    if (fstatvfs(fd, &sv) < 0)
        return sfk_reply_errno(e, r->id, -errno);
    reply_statvfs(e, r->id, &sv);
}

static int create_hardlink(sfk_engine *e)
{
    if (!e->fs)
        return SSH_FX_OP_UNSUPPORTED;
    int rc = sfk_fs_link(e->fs, e->rel1, e->rel2);
    return rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
}

static void ext_hardlink(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st)
        st = sfk_take_path(e, &r->rd, 1);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (!st && e->read_only)
        st = SSH_FX_WRITE_PROTECT;
    if (st)
        return sfk_reply_status(e, r->id, st);
    /* (old path, new path): the new path is the link, the old one its target */
    sfk_reply_status(e, r->id, sfk_app_link(e, e->abs2, e->abs1, 1, create_hardlink));
}

static void ext_fsync(sfk_engine *e, sfk_req *r)
{
    int fd = -1;
    int st = local_fd(e, r, &fd);
    if (!st && fsync(fd) < 0)
        st = sfk_status_from_errno(errno);
    sfk_reply_status(e, r->id, st);
}

static void ext_lsetstat(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    sfk_attrs a;
    sfk_attrs_decode(&r->rd, e->version, &a);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (st)
        return sfk_reply_status(e, r->id, st);
    sfk_do_setstat(e, r->id, 0, &a);
}

static void ext_limits(sfk_engine *e, sfk_req *r)
{
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_EXTENDED_REPLY);
    sfk_wr_u32(&e->out, r->id);
    sfk_wr_u64(&e->out, SFK_SFTP_MAX_PACKET_ADVERTISED);
    sfk_wr_u64(&e->out, SFK_SFTP_MAX_RW_LENGTH);
    sfk_wr_u64(&e->out, SFK_SFTP_MAX_RW_LENGTH);
    sfk_wr_u64(&e->out, SFK_SFTP_MAX_HANDLES - e->handles.used);
    sfk_wr_end(&e->out, start);
}

/* Is [s, s+len) "~" or "~name" with name the session's user (or empty)? */
static int is_own_home(const sfk_engine *e, const char *s, size_t len)
{
    return len == 0 || (len == strlen(e->username) && !memcmp(s, e->username, len));
}

/* expand-path@openssh.com: "~" and "~user" (the session's own user) are the home, which is "/";
 * then as REALPATH. */
static void ext_expand_path(sfk_engine *e, sfk_req *r)
{
    size_t len;
    const char *p = (const char *)sfk_rd_str(&r->rd, &len);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (len && p[0] == '~') {
        const char *slash = memchr(p, '/', len);
        size_t ulen = slash ? (size_t)(slash - p) - 1 : len - 1;
        if (!is_own_home(e, p + 1, ulen))
            return sfk_reply_status(e, r->id, SSH_FX_NO_SUCH_FILE);
        size_t skip = 1 + ulen; /* the rest ("/..." or nothing) is relative to "/" */
        p += skip;
        len -= skip;
    }
    sfk_do_realpath(e, r->id, p, len);
}

/* Do [a, a+len) and [b, b+len) share a byte? (len > 0; the ends may pass 2^64.) */
static int ranges_overlap(uint64_t a, uint64_t b, uint64_t len)
{
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    return hi - lo < len;
}

static void ext_copy_data(sfk_engine *e, sfk_req *r)
{
    sfk_handle *in = sfk_take_handle(e, &r->rd);
    uint64_t in_off = sfk_rd_u64(&r->rd);
    uint64_t len = sfk_rd_u64(&r->rd);
    sfk_handle *out = sfk_take_handle(e, &r->rd);
    uint64_t out_off = sfk_rd_u64(&r->rd);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (!in || !out || in->kind != SFK_H_FILE || out->kind != SFK_H_FILE)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_HANDLE);
    if (in->custom || out->custom)
        return sfk_reply_status(e, r->id, SSH_FX_OP_UNSUPPORTED);
    if (!in->open.read || !(out->open.write || out->open.append))
        return sfk_reply_status(e, r->id, SSH_FX_PERMISSION_DENIED);
    struct stat si, so;
    if (fstat(in->fd, &si) < 0 || fstat(out->fd, &so) < 0)
        return sfk_reply_errno(e, r->id, -errno);
    /* "To the end of the file" (0), or any length past it, means the end as it is now: read at
     * every step, a copy onto the end of its own source would chase that end until the disk is
     * full. So nothing copies more than the source held when the request came. */
    if (!S_ISREG(si.st_mode))
        return sfk_reply_status(e, r->id, SSH_FX_OP_UNSUPPORTED);
    if ((uint64_t)si.st_size <= in_off)
        return sfk_reply_status(e, r->id, len == 0 ? SSH_FX_OK : SSH_FX_EOF);
    if (len == 0 || len > (uint64_t)si.st_size - in_off)
        len = (uint64_t)si.st_size - in_off;
    /* The same file (two handles, or one) with overlapping ranges would read what it has just
     * written: refused, as OpenSSH refuses every copy within one file. */
    if (si.st_dev == so.st_dev && si.st_ino == so.st_ino && ranges_overlap(in_off, out_off, len))
        return sfk_reply_status(e, r->id, SSH_FX_FAILURE);
    int rc = sfk_fs_copy_range(in->fd, in_off, len, out->fd, out_off, e->cancel);
    sfk_reply_status(e, r->id, rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK);
}

/* home-directory: every session's home is its root, "/". */
static void ext_home_directory(sfk_engine *e, sfk_req *r)
{
    size_t len;
    const char *user = (const char *)sfk_rd_str(&r->rd, &len);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (!is_own_home(e, user, len))
        return sfk_reply_status(e, r->id, SSH_FX_NO_SUCH_FILE);
    sfk_reply_name1(e, r->id, "/");
}

/* users-groups-by-id@openssh.com: names for the uids/gids the client saw in attributes
 * (an empty string where there is none). */
static void ext_users_groups(sfk_engine *e, sfk_req *r)
{
    size_t ulen, glen;
    const uint8_t *uids = sfk_rd_str(&r->rd, &ulen);
    const uint8_t *gids = sfk_rd_str(&r->rd, &glen);
    if (!sfk_parsed(r) || ulen % 4 || glen % 4)
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_EXTENDED_REPLY);
    sfk_wr_u32(&e->out, r->id);
    for (int pass = 0; pass < 2; pass++) {
        const uint8_t *ids = pass ? gids : uids;
        size_t n = (pass ? glen : ulen) / 4;
        size_t at = e->out.len;
        sfk_wr_u32(&e->out, 0); /* the list is itself a string of strings */
        for (size_t i = 0; i < n; i++) {
            char name[64];
            uint32_t id = sfk_get_u32(ids + 4 * i);
            int rc = pass ? sfk_lookup_group(id, name, sizeof name) : sfk_lookup_user(id, name, sizeof name);
            sfk_wr_cstr(&e->out, rc == 0 ? name : "");
        }
        if (!e->out.oom)
            sfk_put_u32(e->out.data + at, (uint32_t)(e->out.len - at - 4));
    }
    sfk_wr_end(&e->out, start);
}

static const struct {
    const char *name;
    const char *version;
    sfk_req_fn fn;
} extensions[] = {
    {"posix-rename@openssh.com", "1", ext_posix_rename},
    {"statvfs@openssh.com", "2", ext_statvfs},
    {"fstatvfs@openssh.com", "2", ext_fstatvfs},
    {"hardlink@openssh.com", "1", ext_hardlink},
    {"fsync@openssh.com", "1", ext_fsync},
    {"lsetstat@openssh.com", "1", ext_lsetstat},
    {"limits@openssh.com", "1", ext_limits},
    {"expand-path@openssh.com", "1", ext_expand_path},
    {"copy-data", "1", ext_copy_data},
    {"home-directory", "1", ext_home_directory},
    {"users-groups-by-id@openssh.com", "1", ext_users_groups},
};

size_t sfk_extension_count(void)
{
    return sizeof extensions / sizeof extensions[0];
}

const char *sfk_extension_name(size_t i)
{
    return extensions[i].name;
}

void sfk_write_extensions(sfk_engine *e)
{
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
        sfk_wr_cstr(&e->out, extensions[i].name);
        sfk_wr_cstr(&e->out, extensions[i].version);
    }
}

void sfk_req_extended(sfk_engine *e, sfk_req *r)
{
    size_t len;
    const char *name = (const char *)sfk_rd_str(&r->rd, &len);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if (strlen(extensions[i].name) == len && !memcmp(extensions[i].name, name, len))
            return extensions[i].fn(e, r);
    if (sfk_ext_v6_dispatch(e, r, name, len)) /* version-select and the v6 extensions */
        return;
    sfk_reply_status(e, r->id, SSH_FX_OP_UNSUPPORTED);
}
