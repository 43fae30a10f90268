/* File attributes: one version-independent form, encoded and decoded per protocol version
 * (v3 in attrs.c, v4..v6 in attrs_v4.c). Internal. */
#ifndef SFK_SFTP_ATTRS_H
#define SFK_SFTP_ATTRS_H

#include <stdint.h>
#include <sys/stat.h>

#include "fs/local.h"
#include "sftp/wire.h"

enum {
    SFK_A_SIZE = 1,
    SFK_A_UIDGID = 2,
    SFK_A_PERMS = 4, /* perm holds the file type bits too (S_IFMT), as v3 sends them */
    SFK_A_ATIME = 8,
    SFK_A_MTIME = 16,
    SFK_A_CTIME = 32, /* v4+ (and client_file_entry_c_time) */
    SFK_A_NLINK = 64, /* long names; v6 link-count */
    /* v4+ only */
    SFK_A_NAMES = 128,  /* owner/group as strings (the client's SETSTAT; replies look names up) */
    SFK_A_CRTIME = 256, /* create time */
    SFK_A_ALLOC = 512,  /* v6 allocation-size */
    SFK_A_BITS = 1024,  /* v5+ attrib-bits */
    SFK_A_ACL = 2048,   /* decode: the client sent an ACL; encode: write an empty one */
    SFK_A_TEXTHINT = 4096,
    SFK_A_UNTRANSLATED = 8192, /* v6 untranslated-name: the name as on disk, when it was converted */
};

typedef struct {
    uint32_t flags;
    uint64_t size;
    uint32_t uid, gid;
    uint32_t perm;
    int64_t atime, mtime, ctime;
    uint32_t nlink;
    /* v4+ */
    uint32_t atime_ns, mtime_ns, ctime_ns, crtime_ns;
    int64_t crtime;
    uint64_t alloc_size;
    uint32_t bits, bits_valid;
    char owner[64], group[64]; /* SFK_A_NAMES */
    const char *untranslated;  /* SFK_A_UNTRANSLATED: not owned (the directory entry, or the packet) */
    size_t untranslated_len;
} sfk_attrs;

void sfk_attrs_from_stat(sfk_attrs *a, const struct stat *st);

/* Reads attributes in the version's wire form; malformed input sets r->bad. */
void sfk_attrs_decode(sfk_rd *r, int version, sfk_attrs *a);
void sfk_attrs_encode(sfk_buf *b, int version, const sfk_attrs *a);

/* The v4..v6 codec (attrs_v4.c); sfk_attrs_decode/encode call it for those versions. Encoding
 * writes owner/group from a->owner/group when SFK_A_NAMES is set, else the uid/gid as numbers. */
void sfk_attrs_decode_v4(sfk_rd *r, int version, sfk_attrs *a);
void sfk_attrs_encode_v4(sfk_buf *b, int version, const sfk_attrs *a);
/* v4+ SETSTAT: owner/group names -> uid/gid (SFK_A_UIDGID). 0, or an SFTP status
 * (OWNER_INVALID / GROUP_INVALID). Also refuses what cannot be set (an ACL, attrib-bits). */
int sfk_attrs_resolve_v4(sfk_attrs *a);
/* The type byte of v4+ for a mode's S_IFMT bits, and back. */
uint8_t sfk_attrs_type_byte(uint32_t mode, int version);
uint32_t sfk_attrs_type_mode(uint8_t type);

/* The changes a SETSTAT asks the local file system for. */
void sfk_attrs_to_setattr(const sfk_attrs *a, sfk_fs_setattr *s);

/* `ls -l` style long name, as OpenSSH's sftp-server writes it:
 * "-rw-r--r--    1 user     group        1234 Jan  1 12:34 name". Returns the length written
 * (truncated to cap - 1). */
int sfk_longname(char *buf, int cap, const char *name, const sfk_attrs *a, const char *user, const char *group);

#endif
