/* Attribute codec of SFTP v4 (draft -04), v5 (-05) and v6 (-13). One function per direction;
 * the fields a version lacks are simply not written (encode) or not expected (decode).
 *
 * What the local file system cannot keep is refused at SETSTAT rather than dropped silently:
 * an ACL and attrib-bits other than 0 (sfk_attrs_resolve_v4). A create time is ignored (Linux has
 * no call to set it; clients that echo every attribute back would otherwise fail). */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sftp/attrs.h"
#include "sftp/protocol.h"

uint8_t sfk_attrs_type_byte(uint32_t mode, int version)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return SSH_FILEXFER_TYPE_REGULAR;
    case S_IFDIR:
        return SSH_FILEXFER_TYPE_DIRECTORY;
    case S_IFLNK:
        return SSH_FILEXFER_TYPE_SYMLINK;
    case 0:
        return SSH_FILEXFER_TYPE_UNKNOWN;
    default:
        break;
    }
    if (version < 5) /* v4 knows only "special" for the rest */
        return SSH_FILEXFER_TYPE_SPECIAL;
    switch (mode & S_IFMT) {
    case S_IFSOCK:
        return SSH_FILEXFER_TYPE_SOCKET;
    case S_IFCHR:
        return SSH_FILEXFER_TYPE_CHAR_DEVICE;
    case S_IFBLK:
        return SSH_FILEXFER_TYPE_BLOCK_DEVICE;
    case S_IFIFO:
        return SSH_FILEXFER_TYPE_FIFO;
    default:
        return SSH_FILEXFER_TYPE_SPECIAL;
    }
}

uint32_t sfk_attrs_type_mode(uint8_t type)
{
    switch (type) {
    case SSH_FILEXFER_TYPE_REGULAR:
        return S_IFREG;
    case SSH_FILEXFER_TYPE_DIRECTORY:
        return S_IFDIR;
    case SSH_FILEXFER_TYPE_SYMLINK:
        return S_IFLNK;
    case SSH_FILEXFER_TYPE_SOCKET:
        return S_IFSOCK;
    case SSH_FILEXFER_TYPE_CHAR_DEVICE:
        return S_IFCHR;
    case SSH_FILEXFER_TYPE_BLOCK_DEVICE:
        return S_IFBLK;
    case SSH_FILEXFER_TYPE_FIFO:
        return S_IFIFO;
    default:
        return 0;
    }
}

/* A name string into a fixed field: longer than the field (or with a NUL inside) cannot be a
 * user or group name here, so it is marked bad rather than cut. */
static void take_name(sfk_rd *r, char *out, size_t cap)
{
    size_t len;
    const uint8_t *s = sfk_rd_str(r, &len);
    if (len >= cap || memchr(s, '\0', len)) {
        r->bad = 1;
        len = 0;
    }
    memcpy(out, s, len);
    out[len] = '\0';
}

static void take_time(sfk_rd *r, int subsec, int64_t *t, uint32_t *ns)
{
    *t = (int64_t)sfk_rd_u64(r);
    *ns = subsec ? sfk_rd_u32(r) : 0;
    if (*ns > 999999999u) /* not a nanosecond count: the packet is malformed */
        r->bad = 1;
}

void sfk_attrs_decode_v4(sfk_rd *r, int version, sfk_attrs *a)
{
    memset(a, 0, sizeof *a);
    uint32_t flags = sfk_rd_u32(r);
    /* phpseclib 3.0's v5+ OPEN ends with the flags 0 and no type byte: with no field to read the
     * missing byte changes nothing, so that one form is accepted (anything else stays strict) */
    if (flags == 0 && r->left == 0 && !r->bad)
        return;
    uint8_t type = sfk_rd_u8(r);
    /* v4 defines types 1..5 only: a v5 type number from a v4 client names no type (else it would
     * not survive the encoder, which writes v4's "special" for it: found by fuzz_attrs) */
    uint32_t tmode = version < 5 && type > SSH_FILEXFER_TYPE_UNKNOWN ? 0 : sfk_attrs_type_mode(type);
    int subsec = (flags & SSH_FILEXFER_ATTR_SUBSECOND_TIMES) != 0;
    if (flags & SSH_FILEXFER_ATTR_SIZE) {
        a->flags |= SFK_A_SIZE;
        a->size = sfk_rd_u64(r);
    }
    if (version >= 6 && (flags & SSH_FILEXFER_ATTR_ALLOCATION_SIZE)) {
        a->flags |= SFK_A_ALLOC;
        a->alloc_size = sfk_rd_u64(r);
    }
    if (flags & SSH_FILEXFER_ATTR_OWNERGROUP) {
        a->flags |= SFK_A_NAMES;
        take_name(r, a->owner, sizeof a->owner);
        take_name(r, a->group, sizeof a->group);
    }
    if (flags & SSH_FILEXFER_ATTR_PERMISSIONS) {
        a->flags |= SFK_A_PERMS;
        a->perm = (sfk_rd_u32(r) & 07777u) | tmode; /* the type travels in its own byte */
    }
    if (flags & SSH_FILEXFER_ATTR_ACCESSTIME) {
        a->flags |= SFK_A_ATIME;
        take_time(r, subsec, &a->atime, &a->atime_ns);
    }
    if (flags & SSH_FILEXFER_ATTR_CREATETIME) {
        a->flags |= SFK_A_CRTIME;
        take_time(r, subsec, &a->crtime, &a->crtime_ns);
    }
    if (flags & SSH_FILEXFER_ATTR_MODIFYTIME) {
        a->flags |= SFK_A_MTIME;
        take_time(r, subsec, &a->mtime, &a->mtime_ns);
    }
    if (version >= 6 && (flags & SSH_FILEXFER_ATTR_CTIME)) {
        a->flags |= SFK_A_CTIME;
        take_time(r, subsec, &a->ctime, &a->ctime_ns);
    }
    if (flags & SSH_FILEXFER_ATTR_ACL) {
        size_t len;
        sfk_rd_str(r, &len);
        a->flags |= SFK_A_ACL;
    }
    if (version >= 5 && (flags & SSH_FILEXFER_ATTR_BITS)) {
        a->flags |= SFK_A_BITS;
        a->bits = sfk_rd_u32(r);
        a->bits_valid = version >= 6 ? sfk_rd_u32(r) : 0xffffffffu;
    }
    if (version >= 6) {
        if (flags & SSH_FILEXFER_ATTR_TEXT_HINT)
            sfk_rd_u8(r);
        size_t len;
        if (flags & SSH_FILEXFER_ATTR_MIME_TYPE)
            sfk_rd_str(r, &len);
        if (flags & SSH_FILEXFER_ATTR_LINK_COUNT)
            sfk_rd_u32(r); /* read-only: a SETSTAT cannot change it */
        if (flags & SSH_FILEXFER_ATTR_UNTRANSLATED_NAME) {
            a->untranslated = (const char *)sfk_rd_str(r, &a->untranslated_len);
            a->flags |= SFK_A_UNTRANSLATED;
        }
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

static void put_time(sfk_buf *b, int64_t t, uint32_t ns)
{
    sfk_wr_u64(b, (uint64_t)t);
    sfk_wr_u32(b, ns);
}

void sfk_attrs_encode_v4(sfk_buf *b, int version, const sfk_attrs *a)
{
    uint32_t flags = 0;
    if (a->flags & SFK_A_SIZE)
        flags |= SSH_FILEXFER_ATTR_SIZE;
    if (version >= 6 && (a->flags & SFK_A_ALLOC))
        flags |= SSH_FILEXFER_ATTR_ALLOCATION_SIZE;
    if (a->flags & (SFK_A_UIDGID | SFK_A_NAMES))
        flags |= SSH_FILEXFER_ATTR_OWNERGROUP;
    if (a->flags & SFK_A_PERMS)
        flags |= SSH_FILEXFER_ATTR_PERMISSIONS;
    if (a->flags & SFK_A_ATIME)
        flags |= SSH_FILEXFER_ATTR_ACCESSTIME;
    if (a->flags & SFK_A_CRTIME)
        flags |= SSH_FILEXFER_ATTR_CREATETIME;
    if (a->flags & SFK_A_MTIME)
        flags |= SSH_FILEXFER_ATTR_MODIFYTIME;
    if (version >= 6 && (a->flags & SFK_A_CTIME))
        flags |= SSH_FILEXFER_ATTR_CTIME;
    if (flags & (SSH_FILEXFER_ATTR_ACCESSTIME | SSH_FILEXFER_ATTR_CREATETIME | SSH_FILEXFER_ATTR_MODIFYTIME |
                 SSH_FILEXFER_ATTR_CTIME))
        flags |= SSH_FILEXFER_ATTR_SUBSECOND_TIMES;
    if (a->flags & SFK_A_ACL)
        flags |= SSH_FILEXFER_ATTR_ACL;
    if (version >= 5 && (a->flags & SFK_A_BITS))
        flags |= SSH_FILEXFER_ATTR_BITS;
    if (version >= 6 && (a->flags & SFK_A_NLINK))
        flags |= SSH_FILEXFER_ATTR_LINK_COUNT;
    if (version >= 6 && (a->flags & SFK_A_UNTRANSLATED))
        flags |= SSH_FILEXFER_ATTR_UNTRANSLATED_NAME;

    sfk_wr_u32(b, flags);
    /* a reply without permissions does not know the type */
    sfk_wr_u8(b, sfk_attrs_type_byte(a->flags & SFK_A_PERMS ? a->perm : 0, version));
    if (flags & SSH_FILEXFER_ATTR_SIZE)
        sfk_wr_u64(b, a->size);
    if (flags & SSH_FILEXFER_ATTR_ALLOCATION_SIZE)
        sfk_wr_u64(b, a->alloc_size);
    if (flags & SSH_FILEXFER_ATTR_OWNERGROUP) {
        if (a->flags & SFK_A_NAMES) {
            sfk_wr_cstr(b, a->owner);
            sfk_wr_cstr(b, a->group);
        } else { /* the caller found no names: the numbers, which SETSTAT reads back */
            char num[16];
            snprintf(num, sizeof num, "%u", a->uid);
            sfk_wr_cstr(b, num);
            snprintf(num, sizeof num, "%u", a->gid);
            sfk_wr_cstr(b, num);
        }
    }
    if (flags & SSH_FILEXFER_ATTR_PERMISSIONS)
        sfk_wr_u32(b, a->perm); /* with the S_IFMT bits, as gesftpserver sends them: clients that
                                   still look at those keep working, the rest mask them */
    if (flags & SSH_FILEXFER_ATTR_ACCESSTIME)
        put_time(b, a->atime, a->atime_ns);
    if (flags & SSH_FILEXFER_ATTR_CREATETIME)
        put_time(b, a->crtime, a->crtime_ns);
    if (flags & SSH_FILEXFER_ATTR_MODIFYTIME)
        put_time(b, a->mtime, a->mtime_ns);
    if (flags & SSH_FILEXFER_ATTR_CTIME)
        put_time(b, a->ctime, a->ctime_ns);
    if (flags & SSH_FILEXFER_ATTR_ACL) { /* empty: v4/v5 ace-count; v6 acl-flags + ace-count */
        static const uint8_t zeros[8] = {0};
        sfk_wr_str(b, zeros, version >= 6 ? 8 : 4);
    }
    if (flags & SSH_FILEXFER_ATTR_BITS) {
        sfk_wr_u32(b, a->bits);
        if (version >= 6)
            sfk_wr_u32(b, a->bits_valid);
    }
    if (flags & SSH_FILEXFER_ATTR_LINK_COUNT)
        sfk_wr_u32(b, a->nlink);
    /* mime-type is never sent (optional, and guessing it is not this server's business) */
    if (flags & SSH_FILEXFER_ATTR_UNTRANSLATED_NAME)
        sfk_wr_str(b, a->untranslated, a->untranslated_len);
}

/* A name or a decimal number (what the encoder writes when there is no name). */
static int name_to_id(const char *s, int group, uint32_t *id)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s && !*end && v <= UINT32_MAX) {
        *id = (uint32_t)v;
        return 0;
    }
    char buf[1024];
    if (group) {
        struct group gr, *res = NULL;
        if (getgrnam_r(s, &gr, buf, sizeof buf, &res) != 0 || !res)
            return -1;
        *id = res->gr_gid;
    } else {
        struct passwd pw, *res = NULL;
        if (getpwnam_r(s, &pw, buf, sizeof buf, &res) != 0 || !res)
            return -1;
        *id = res->pw_uid;
    }
    return 0;
}

int sfk_attrs_resolve_v4(sfk_attrs *a)
{
    if (a->flags & SFK_A_ACL)
        return SSH_FX_OP_UNSUPPORTED; /* no ACLs here: refused rather than dropped */
    if ((a->flags & SFK_A_BITS) && (a->bits & a->bits_valid))
        return SSH_FX_OP_UNSUPPORTED;
    if (a->flags & SFK_A_NAMES) {
        /* "user@domain" names (the draft's form) are looked up by their user part */
        char *at = strchr(a->owner, '@');
        if (at)
            *at = '\0';
        at = strchr(a->group, '@');
        if (at)
            *at = '\0';
        if (name_to_id(a->owner, 0, &a->uid) < 0)
            return SSH_FX_OWNER_INVALID;
        if (name_to_id(a->group, 1, &a->gid) < 0)
            return SSH_FX_GROUP_INVALID;
        a->flags |= SFK_A_UIDGID;
        a->flags &= ~(uint32_t)SFK_A_NAMES;
    }
    return 0;
}
