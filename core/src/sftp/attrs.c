/* Attribute codec (v3; v4..v6 in attrs_v4.c) and long names. */
#include "sftp/attrs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sftp/protocol.h"

void sfk_attrs_from_stat(sfk_attrs *a, const struct stat *st)
{
    a->flags = SFK_A_SIZE | SFK_A_UIDGID | SFK_A_PERMS | SFK_A_ATIME | SFK_A_MTIME | SFK_A_CTIME | SFK_A_NLINK;
    a->size = (uint64_t)st->st_size;
    a->uid = st->st_uid;
    a->gid = st->st_gid;
    a->perm = st->st_mode;
    a->atime = st->st_atime;
    a->mtime = st->st_mtime;
    a->ctime = st->st_ctime;
    a->nlink = (uint32_t)st->st_nlink;
    a->atime_ns = (uint32_t)st->st_atim.tv_nsec;
    a->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
    a->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
    a->flags |= SFK_A_ALLOC;
    a->alloc_size = (uint64_t)st->st_blocks * 512u;
}

static uint32_t time32(int64_t t)
{
    return t < 0 ? 0 : t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

void sfk_attrs_decode(sfk_rd *r, int version, sfk_attrs *a)
{
    if (version >= 4)
        return sfk_attrs_decode_v4(r, version, a);
    memset(a, 0, sizeof *a);
    uint32_t flags = sfk_rd_u32(r);
    if (flags & SSH_FILEXFER_ATTR_SIZE) {
        a->flags |= SFK_A_SIZE;
        a->size = sfk_rd_u64(r);
    }
    if (flags & SSH_FILEXFER_ATTR_UIDGID) {
        a->flags |= SFK_A_UIDGID;
        a->uid = sfk_rd_u32(r);
        a->gid = sfk_rd_u32(r);
    }
    if (flags & SSH_FILEXFER_ATTR_PERMISSIONS) {
        a->flags |= SFK_A_PERMS;
        a->perm = sfk_rd_u32(r);
    }
    if (flags & SSH_FILEXFER_ATTR_ACMODTIME) {
        a->flags |= SFK_A_ATIME | SFK_A_MTIME;
        a->atime = sfk_rd_u32(r);
        a->mtime = sfk_rd_u32(r);
    }
    if (flags & SSH_FILEXFER_ATTR_EXTENDED) { /* extension pairs: read and ignore */
        uint32_t n = sfk_rd_u32(r);
        for (uint32_t i = 0; i < n && !r->bad; i++) {
            size_t len;
            sfk_rd_str(r, &len);
            sfk_rd_str(r, &len);
        }
    }
}

void sfk_attrs_encode(sfk_buf *b, int version, const sfk_attrs *a)
{
    if (version >= 4)
        return sfk_attrs_encode_v4(b, version, a);
    uint32_t flags = 0;
    if (a->flags & SFK_A_SIZE)
        flags |= SSH_FILEXFER_ATTR_SIZE;
    if (a->flags & SFK_A_UIDGID)
        flags |= SSH_FILEXFER_ATTR_UIDGID;
    if (a->flags & SFK_A_PERMS)
        flags |= SSH_FILEXFER_ATTR_PERMISSIONS;
    if (a->flags & (SFK_A_ATIME | SFK_A_MTIME))
        flags |= SSH_FILEXFER_ATTR_ACMODTIME;
    sfk_wr_u32(b, flags);
    if (flags & SSH_FILEXFER_ATTR_SIZE)
        sfk_wr_u64(b, a->size);
    if (flags & SSH_FILEXFER_ATTR_UIDGID) {
        sfk_wr_u32(b, a->uid);
        sfk_wr_u32(b, a->gid);
    }
    if (flags & SSH_FILEXFER_ATTR_PERMISSIONS)
        sfk_wr_u32(b, a->perm);
    if (flags & SSH_FILEXFER_ATTR_ACMODTIME) { /* v3 sends both: a missing one copies the other */
        int64_t at = (a->flags & SFK_A_ATIME) ? a->atime : a->mtime;
        int64_t mt = (a->flags & SFK_A_MTIME) ? a->mtime : a->atime;
        sfk_wr_u32(b, time32(at));
        sfk_wr_u32(b, time32(mt));
    }
}

void sfk_attrs_to_setattr(const sfk_attrs *a, sfk_fs_setattr *s)
{
    memset(s, 0, sizeof *s);
    if (a->flags & SFK_A_SIZE) {
        s->flags |= SFK_FS_SET_SIZE;
        s->size = a->size;
    }
    if (a->flags & SFK_A_UIDGID) {
        s->flags |= SFK_FS_SET_UIDGID;
        s->uid = a->uid;
        s->gid = a->gid;
    }
    if (a->flags & SFK_A_PERMS) {
        s->flags |= SFK_FS_SET_MODE;
        s->mode = a->perm & 07777;
    }
    if (a->flags & (SFK_A_ATIME | SFK_A_MTIME)) { /* v4+ may send one of them: keep the other */
        s->flags |= SFK_FS_SET_TIMES;
        s->atime = a->atime;
        s->mtime = a->mtime;
        s->atime_ns = a->flags & SFK_A_ATIME ? a->atime_ns : (uint32_t)UTIME_OMIT;
        s->mtime_ns = a->flags & SFK_A_MTIME ? a->mtime_ns : (uint32_t)UTIME_OMIT;
    }
}

/* strmode(3): type, rwx for user/group/other with set-id and sticky bits, and the trailing
 * space BSD's strmode leaves for an ACL marker (OpenSSH's long names include it). */
static void mode_string(uint32_t m, char out[12])
{
    switch (m & S_IFMT) {
    case S_IFDIR:
        out[0] = 'd';
        break;
    case S_IFLNK:
        out[0] = 'l';
        break;
    case S_IFCHR:
        out[0] = 'c';
        break;
    case S_IFBLK:
        out[0] = 'b';
        break;
    case S_IFIFO:
        out[0] = 'p';
        break;
    case S_IFSOCK:
        out[0] = 's';
        break;
    case S_IFREG:
        out[0] = '-';
        break;
    default:
        out[0] = '?';
        break;
    }
    out[1] = m & S_IRUSR ? 'r' : '-';
    out[2] = m & S_IWUSR ? 'w' : '-';
    out[3] = m & S_ISUID ? (m & S_IXUSR ? 's' : 'S') : (m & S_IXUSR ? 'x' : '-');
    out[4] = m & S_IRGRP ? 'r' : '-';
    out[5] = m & S_IWGRP ? 'w' : '-';
    out[6] = m & S_ISGID ? (m & S_IXGRP ? 's' : 'S') : (m & S_IXGRP ? 'x' : '-');
    out[7] = m & S_IROTH ? 'r' : '-';
    out[8] = m & S_IWOTH ? 'w' : '-';
    out[9] = m & S_ISVTX ? (m & S_IXOTH ? 't' : 'T') : (m & S_IXOTH ? 'x' : '-');
    out[10] = ' ';
    out[11] = '\0';
}

int sfk_longname(char *buf, int cap, const char *name, const sfk_attrs *a, const char *user, const char *group)
{
    char mode[12];
    mode_string(a->flags & SFK_A_PERMS ? a->perm : 0, mode);
    char tbuf[32] = "";
    if (a->flags & SFK_A_MTIME) {
        time_t mt = (time_t)a->mtime;
        struct tm tm;
        if (localtime_r(&mt, &tm)) {
            time_t now = time(NULL);
            /* recent (the last six months): time of day; older or in the future: the year */
            const char *fmt = (now - (365 * 24 * 60 * 60) / 2 < mt && now >= mt) ? "%b %e %H:%M" : "%b %e  %Y";
            strftime(tbuf, sizeof tbuf, fmt, &tm);
        }
    }
    int ulen = (int)strlen(user) > 8 ? (int)strlen(user) : 8;
    int glen = (int)strlen(group) > 8 ? (int)strlen(group) : 8;
    int n = snprintf(buf, (size_t)cap, "%s %3u %-*s %-*s %8llu %s %s", mode, a->flags & SFK_A_NLINK ? a->nlink : 1u,
                     ulen, user, glen, group, (unsigned long long)(a->flags & SFK_A_SIZE ? a->size : 0), tbuf, name);
    return n < 0 ? 0 : n >= cap ? cap - 1 : n;
}
