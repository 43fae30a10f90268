/* Operations of the confined local file system. Each one resolves through fs/resolve.c and then
 * acts either on the resolved fd or on (parent fd, last name) with the *at() calls and no
 * following of the last component — never on a path re-resolved from the top. */
#include "fs/local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/path.h"
#include "fs/resolve.h"

int sfk_fs_new(const char *root, sfk_fs **out)
{
    *out = NULL;
    if (!root || !*root)
        return -EINVAL;
    sfk_fs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return -ENOMEM;
    fs->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fs->root_fd < 0) {
        int e = errno;
        free(fs);
        return -e;
    }
    fs->root_path = realpath(root, NULL);
    if (!fs->root_path) {
        int e = errno;
        sfk_fs_free(fs);
        return -e;
    }
    fs->root_len = strlen(fs->root_path);
    fs->use_openat2 = sfk_openat2_probe(fs->root_fd);
    *out = fs;
    return 0;
}

void sfk_fs_free(sfk_fs *fs)
{
    if (!fs)
        return;
    if (fs->root_fd >= 0)
        close(fs->root_fd);
    free(fs->root_path);
    free(fs);
}

const char *sfk_fs_root(const sfk_fs *fs)
{
    return fs->root_path;
}

void sfk_fs_force_walk(sfk_fs *fs, int on)
{
    fs->use_openat2 = on ? 0 : sfk_openat2_probe(fs->root_fd);
}

int sfk_fs_uses_openat2(const sfk_fs *fs)
{
    return fs->use_openat2;
}

int sfk_fs_open(sfk_fs *fs, const char *rel, int oflags, mode_t mode, int follow)
{
    return sfk_resolve(fs, rel, oflags, mode, follow);
}

int sfk_fs_opendir(sfk_fs *fs, const char *rel, DIR **out)
{
    int fd = sfk_resolve(fs, rel, O_RDONLY | O_DIRECTORY, 0, 1);
    if (fd < 0)
        return fd;
    *out = fdopendir(fd);
    if (!*out) {
        int e = errno;
        close(fd);
        return -e;
    }
    return 0;
}

int sfk_fs_stat(sfk_fs *fs, const char *rel, int follow, struct stat *st)
{
    if (!follow) {
        const char *name;
        int pfd = sfk_resolve_parent(fs, rel, &name);
        if (pfd < 0)
            return pfd;
        int rc = fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
        close(pfd);
        return rc;
    }
    int fd = sfk_resolve(fs, rel, O_PATH, 0, 1);
    if (fd < 0)
        return fd;
    int rc = fstat(fd, st) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* ---- attribute changes ----------------------------------------------------------------------- */

static void proc_path(char *buf, size_t cap, int fd)
{
    snprintf(buf, cap, "/proc/self/fd/%d", fd);
}

static void to_timespec(const sfk_fs_setattr *a, struct timespec ts[2])
{
    ts[0].tv_sec = a->atime;
    ts[0].tv_nsec = a->atime_ns;
    ts[1].tv_sec = a->mtime;
    ts[1].tv_nsec = a->mtime_ns;
}

/* In OpenSSH's order: size, permissions, times, owner; stops at the first failure. An O_PATH
 * descriptor (opath) takes the calls through its /proc/self/fd link, which names exactly the
 * inode already resolved — no path is looked up again; an ordinary descriptor uses the f*()
 * calls and falls back to the link where they need other access (ftruncate on a read handle). */
static int setattr_fd(int fd, int opath, const sfk_fs_setattr *a)
{
    char pp[64];
    proc_path(pp, sizeof pp, fd);
    if (a->flags & SFK_FS_SET_SIZE) {
        if (a->size > (uint64_t)INT64_MAX)
            return -EINVAL;
        if (opath || ftruncate(fd, (off_t)a->size) < 0) {
            if (!opath && errno != EBADF && errno != EINVAL)
                return -errno;
            if (truncate(pp, (off_t)a->size) < 0)
                return -errno;
        }
    }
    if (a->flags & SFK_FS_SET_MODE) {
        if ((opath || fchmod(fd, a->mode & 07777) < 0) &&
            ((!opath && errno != EBADF) || chmod(pp, a->mode & 07777) < 0))
            return -errno;
    }
    if (a->flags & SFK_FS_SET_TIMES) {
        struct timespec ts[2];
        to_timespec(a, ts);
        if ((opath || futimens(fd, ts) < 0) && ((!opath && errno != EBADF) || utimensat(AT_FDCWD, pp, ts, 0) < 0))
            return -errno;
    }
    if (a->flags & SFK_FS_SET_UIDGID) {
        if (fchownat(fd, "", a->uid, a->gid, AT_EMPTY_PATH) < 0)
            return -errno;
    }
    return 0;
}

int sfk_fs_fsetstat(int fd, const sfk_fs_setattr *a)
{
    return setattr_fd(fd, 0, a);
}

/* lsetstat: the last component itself, never what a symlink points at. */
static int setstat_nofollow(sfk_fs *fs, const char *rel, const sfk_fs_setattr *a)
{
    const char *name;
    int pfd = sfk_resolve_parent(fs, rel, &name);
    if (pfd < 0)
        return pfd;
    int rc = 0;
    if (a->flags & SFK_FS_SET_SIZE) {
        int fd = openat(pfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            rc = -errno;
        else {
            if (a->size > (uint64_t)INT64_MAX)
                rc = -EINVAL;
            else if (ftruncate(fd, (off_t)a->size) < 0)
                rc = -errno;
            close(fd);
        }
    }
    if (!rc && (a->flags & SFK_FS_SET_MODE) && fchmodat(pfd, name, a->mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
        rc = -errno;
    if (!rc && (a->flags & SFK_FS_SET_TIMES)) {
        struct timespec ts[2];
        to_timespec(a, ts);
        if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
            rc = -errno;
    }
    if (!rc && (a->flags & SFK_FS_SET_UIDGID) && fchownat(pfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0)
        rc = -errno;
    close(pfd);
    return rc;
}

int sfk_fs_setstat(sfk_fs *fs, const char *rel, int follow, const sfk_fs_setattr *a)
{
    if (!follow)
        return setstat_nofollow(fs, rel, a);
    int fd = sfk_resolve(fs, rel, O_PATH, 0, 1);
    if (fd < 0)
        return fd;
    int rc = setattr_fd(fd, 1, a);
    close(fd);
    return rc;
}

/* ---- names ----------------------------------------------------------------------------------- */

int sfk_fs_mkdir(sfk_fs *fs, const char *rel, mode_t mode)
{
    const char *name;
    int pfd = sfk_resolve_parent(fs, rel, &name);
    if (pfd < 0)
        return pfd;
    int rc = mkdirat(pfd, name, mode & 07777) < 0 ? -errno : 0;
    close(pfd);
    return rc;
}

static int unlink_flags(sfk_fs *fs, const char *rel, int flags)
{
    if (!*rel)
        return -EBUSY; /* never the root itself */
    const char *name;
    int pfd = sfk_resolve_parent(fs, rel, &name);
    if (pfd < 0)
        return pfd;
    int rc = unlinkat(pfd, name, flags) < 0 ? -errno : 0;
    close(pfd);
    return rc;
}

int sfk_fs_rmdir(sfk_fs *fs, const char *rel)
{
    return unlink_flags(fs, rel, AT_REMOVEDIR);
}

int sfk_fs_unlink(sfk_fs *fs, const char *rel)
{
    return unlink_flags(fs, rel, 0);
}

/* Runs op on the two parents; both resolved inside the root, so neither end can be outside. */
static int two_names(sfk_fs *fs, const char *a, const char *b, int (*op)(int, const char *, int, const char *, int),
                     int arg)
{
    if (!*a || !*b)
        return -EBUSY;
    const char *na, *nb;
    int pa = sfk_resolve_parent(fs, a, &na);
    if (pa < 0)
        return pa;
    int pb = sfk_resolve_parent(fs, b, &nb);
    if (pb < 0) {
        close(pa);
        return pb;
    }
    int rc = op(pa, na, pb, nb, arg);
    close(pa);
    close(pb);
    return rc;
}

static int do_rename(int pa, const char *na, int pb, const char *nb, int noreplace)
{
    if (!noreplace)
        return renameat(pa, na, pb, nb) < 0 ? -errno : 0;
    if (renameat2(pa, na, pb, nb, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    struct stat sb; /* a file system without RENAME_NOREPLACE: check, then rename */
    if (fstatat(pb, nb, &sb, AT_SYMLINK_NOFOLLOW) == 0)
        return -EEXIST;
    return renameat(pa, na, pb, nb) < 0 ? -errno : 0;
}

int sfk_fs_rename(sfk_fs *fs, const char *oldrel, const char *newrel, int noreplace)
{
    return two_names(fs, oldrel, newrel, do_rename, noreplace);
}

static int do_link(int pa, const char *na, int pb, const char *nb, int unused)
{
    (void)unused;
    return linkat(pa, na, pb, nb, 0) < 0 ? -errno : 0; /* no AT_SYMLINK_FOLLOW: links the link itself */
}

int sfk_fs_link(sfk_fs *fs, const char *oldrel, const char *newrel)
{
    return two_names(fs, oldrel, newrel, do_link, 0);
}

int sfk_fs_symlink(sfk_fs *fs, const char *target, const char *rel)
{
    if (!*target)
        return -ENOENT;
    const char *name;
    int pfd = sfk_resolve_parent(fs, rel, &name);
    if (pfd < 0)
        return pfd;
    int rc = symlinkat(target, pfd, name) < 0 ? -errno : 0;
    close(pfd);
    return rc;
}

int sfk_fs_readlink(sfk_fs *fs, const char *rel, char *buf, size_t cap)
{
    const char *name;
    int pfd = sfk_resolve_parent(fs, rel, &name);
    if (pfd < 0)
        return pfd;
    ssize_t n = readlinkat(pfd, name, buf, cap - 1);
    int e = errno;
    close(pfd);
    if (n < 0)
        return -e;
    buf[n] = '\0';
    /* A target written with the host's absolute path of something inside the root is shown as
     * the client sees it; other targets are shown as stored (they resolve inside the root). */
    size_t rl = fs->root_len;
    if ((size_t)n > rl && !memcmp(buf, fs->root_path, rl) && buf[rl] == '/') {
        memmove(buf, buf + rl, (size_t)n - rl + 1);
        n -= (ssize_t)rl;
    } else if ((size_t)n == rl && !memcmp(buf, fs->root_path, rl)) {
        strcpy(buf, "/");
        n = 1;
    }
    return (int)n;
}

int sfk_fs_statvfs(sfk_fs *fs, const char *rel, struct statvfs *st)
{
    int fd = sfk_resolve(fs, rel, O_PATH, 0, 1);
    if (fd < 0)
        return fd;
    int rc = fstatvfs(fd, st) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* ---- copy-data ------------------------------------------------------------------------------- */

/* A piece small enough that a drop or stop() waits for at most a few milliseconds of I/O. */
#define SFK_COPY_PIECE (8u << 20)

/* The copy of a hole at [off, off+len) of the destination: nothing past its current end (the
 * size is set once the copy is done), a punched hole inside it, or zeros written where the file
 * system cannot punch (inside what the destination already held, so bounded by it). */
static int copy_hole(int fd, off_t off, uint64_t len, off_t size)
{
    if (off >= size)
        return 0;
    off_t inside = (uint64_t)(size - off) < len ? size - off : (off_t)len;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, inside) == 0)
        return 0;
    static const char zeros[64 * 1024];
    while (inside > 0) {
        size_t n = inside < (off_t)sizeof zeros ? (size_t)inside : sizeof zeros;
        ssize_t w = pwrite(fd, zeros, n, off);
        if (w < 0)
            return -errno;
        off += w, inside -= w;
    }
    return 0;
}

/* Copies the data of [in_off, in_off+len) and keeps the source's holes as holes: a sparse file
 * (a SETSTAT size of 4 GiB costs a client nothing) copies in no time and takes no space, where a
 * byte-wise copy made the session's thread write gigabytes of zeros (fuzz_engine_local: a
 * copy-file of such a file timed out; on tmpfs it would fill memory). Work is bounded by the data
 * the source really holds. */
int sfk_fs_copy_range(int in_fd, uint64_t in_off, uint64_t len, int out_fd, uint64_t out_off, const atomic_int *cancel)
{
    if (in_off > (uint64_t)INT64_MAX || out_off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - out_off)
        return -EINVAL;
    struct stat ss, ds;
    if (fstat(in_fd, &ss) < 0 || fstat(out_fd, &ds) < 0)
        return -errno;
    off_t ri = (off_t)in_off, wo = (off_t)out_off, src_end = ss.st_size, dst_size = ds.st_size;
    int use_cfr = 1;
    char buf[64 * 1024];
    while (len > 0 && ri < src_end) {
        if (cancel && atomic_load(cancel))
            return -ECANCELED;
        off_t data = lseek(in_fd, ri, SEEK_DATA); /* ENXIO: a hole to the end; other errors: no hole data */
        if (data < 0)
            data = errno == ENXIO ? src_end : ri;
        if (data > ri) {
            uint64_t hole = (uint64_t)(data - ri) < len ? (uint64_t)(data - ri) : len;
            int rc = copy_hole(out_fd, wo, hole, dst_size);
            if (rc < 0)
                return rc;
            ri += (off_t)hole, wo += (off_t)hole, len -= hole;
            continue;
        }
        size_t chunk = len > SFK_COPY_PIECE ? SFK_COPY_PIECE : (size_t)len;
        off_t hole_at = lseek(in_fd, ri, SEEK_HOLE);
        if (hole_at > ri && (uint64_t)(hole_at - ri) < chunk)
            chunk = (size_t)(hole_at - ri); /* up to the next hole, which the next turn skips */
        ssize_t n = -1;
        if (use_cfr) {
            n = copy_file_range(in_fd, &ri, out_fd, &wo, chunk, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
                use_cfr = 0; /* different file systems or special files: copy by hand */
            else if (n < 0)
                return -errno;
        }
        if (!use_cfr) {
            if (chunk > sizeof buf)
                chunk = sizeof buf;
            n = pread(in_fd, buf, chunk, ri);
            if (n < 0)
                return -errno;
            for (ssize_t done = 0; done < n;) {
                ssize_t w = pwrite(out_fd, buf + done, (size_t)(n - done), wo);
                if (w < 0)
                    return -errno;
                done += w;
                wo += w;
            }
            ri += n;
        }
        if (n == 0)
            break; /* the source ended */
        len -= (uint64_t)n;
        if (wo > dst_size)
            dst_size = wo;
    }
    if (wo > dst_size && ftruncate(out_fd, wo) < 0) /* a hole at the end of the copy */
        return -errno;
    return 0;
}
