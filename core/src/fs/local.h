/* The local file system, confined to one root directory. Every path argument is a normalized
 * path relative to the root (fs/path.h: "" is the root). Resolution follows symlinks only
 * inside the root, like a chroot: an absolute link target or ".." is taken relative to the root,
 * so no request reaches anything outside it (fs/resolve.c). Functions return 0 (or an fd / a
 * length) on success and -errno on failure. Internal. */
#ifndef SFK_FS_LOCAL_H
#define SFK_FS_LOCAL_H

#include <dirent.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

typedef struct sfk_fs sfk_fs;

/* Opens root (an existing directory; an absolute path is best, a relative one is taken from the
 * process's working directory). */
int sfk_fs_new(const char *root, sfk_fs **out);
void sfk_fs_free(sfk_fs *fs);
/* The root's absolute, symlink-free path (READLINK hides it from link targets). */
const char *sfk_fs_root(const sfk_fs *fs);
/* For tests: force the portable component walk instead of openat2 (as on kernels before 5.6). */
void sfk_fs_force_walk(sfk_fs *fs, int on);
int sfk_fs_uses_openat2(const sfk_fs *fs);

/* Opens rel with open(2) flags (O_CREAT takes mode). follow = 0 refuses a symlink as the last
 * component (ELOOP), or with O_PATH opens the link itself. */
/* Where rel leads inside the root with every symbolic link followed (confined), as a client path
 * ("/a/b"); for a path that does not exist yet, its parent resolved plus the last component.
 * 0, or -errno (the path cannot be resolved: a missing parent, a loop). fs/resolved.c. */
int sfk_fs_resolved_path(sfk_fs *fs, const char *rel, char *out, size_t cap);
int sfk_fs_open(sfk_fs *fs, const char *rel, int oflags, mode_t mode, int follow);
int sfk_fs_opendir(sfk_fs *fs, const char *rel, DIR **out);

int sfk_fs_stat(sfk_fs *fs, const char *rel, int follow, struct stat *st);

/* The attribute changes SETSTAT can ask for. */
enum { SFK_FS_SET_SIZE = 1, SFK_FS_SET_UIDGID = 2, SFK_FS_SET_MODE = 4, SFK_FS_SET_TIMES = 8 };
typedef struct {
    unsigned flags;
    uint64_t size;
    uint32_t uid, gid;
    uint32_t mode;               /* permission bits (07777) */
    int64_t atime, mtime;        /* seconds */
    uint32_t atime_ns, mtime_ns; /* for v4+ subsecond times */
} sfk_fs_setattr;

int sfk_fs_setstat(sfk_fs *fs, const char *rel, int follow, const sfk_fs_setattr *a);
/* On an open descriptor (FSETSTAT). */
int sfk_fs_fsetstat(int fd, const sfk_fs_setattr *a);

int sfk_fs_mkdir(sfk_fs *fs, const char *rel, mode_t mode);
int sfk_fs_rmdir(sfk_fs *fs, const char *rel);
int sfk_fs_unlink(sfk_fs *fs, const char *rel);
/* noreplace: fail with EEXIST when newrel exists (SSH_FXP_RENAME); else replace (posix-rename). */
int sfk_fs_rename(sfk_fs *fs, const char *oldrel, const char *newrel, int noreplace);
int sfk_fs_link(sfk_fs *fs, const char *oldrel, const char *newrel);
/* Creates rel as a symlink holding target verbatim (resolved later relative to the root). */
int sfk_fs_symlink(sfk_fs *fs, const char *target, const char *rel);
/* The link's target; an absolute target inside the root is shown relative to it ("/x"). Returns
 * the length (NUL-terminated in buf). */
int sfk_fs_readlink(sfk_fs *fs, const char *rel, char *buf, size_t cap);
int sfk_fs_statvfs(sfk_fs *fs, const char *rel, struct statvfs *st);
/* REALPATH of a client path (any form, not normalized) as OpenSSH resolves it, confined to the
 * root (fs/realpath.c): symlinks followed, only the last component may be missing. Writes the
 * root-relative result ("" for the root) into out; returns its length or -errno. */
int sfk_fs_realpath(sfk_fs *fs, const char *path, size_t len, char *out, size_t cap);

/* Copies up to len bytes (fewer when the source ends first) between two open files (copy-data),
 * in pieces of a few MiB; between pieces it gives up with -ECANCELED once *cancel is set (a drop
 * or stop(); cancel may be NULL). */
int sfk_fs_copy_range(int in_fd, uint64_t in_off, uint64_t len, int out_fd, uint64_t out_off, const atomic_int *cancel);

#endif
