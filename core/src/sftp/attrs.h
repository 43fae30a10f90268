/* File attributes: one version-independent form, encoded and decoded per protocol version.
 * v3 is implemented; the form already carries what v4..v6 add (type, owner names, ctime,
 * subsecond times) so those versions only need a codec. Internal. */
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
    SFK_A_NLINK = 64, /* only for long names */
};

typedef struct {
    uint32_t flags;
    uint64_t size;
    uint32_t uid, gid;
    uint32_t perm;
    int64_t atime, mtime, ctime;
    uint32_t nlink;
} sfk_attrs;

void sfk_attrs_from_stat(sfk_attrs *a, const struct stat *st);

/* Reads attributes in the version's wire form; malformed input sets r->bad. */
void sfk_attrs_decode(sfk_rd *r, int version, sfk_attrs *a);
void sfk_attrs_encode(sfk_buf *b, int version, const sfk_attrs *a);

/* The changes a SETSTAT asks the local file system for. */
void sfk_attrs_to_setattr(const sfk_attrs *a, sfk_fs_setattr *s);

/* `ls -l` style long name, as OpenSSH's sftp-server writes it:
 * "-rw-r--r--    1 user     group        1234 Jan  1 12:34 name". Returns the length written
 * (truncated to cap - 1). */
int sfk_longname(char *buf, int cap, const char *name, const sfk_attrs *a, const char *user, const char *group);

#endif
