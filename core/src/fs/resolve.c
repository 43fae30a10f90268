/* Confined resolution: a path relative to the root never leaves it.
 *
 * Preferred: openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS. The kernel resolves every
 * component; ".." at the root stays at the root and an absolute symlink target starts at the
 * root, exactly like a chroot, so neither `..`, absolute paths nor symlinks (existing ones or
 * ones the client made) can point outside. /proc magic links are refused outright.
 *
 * Fallback (ENOSYS, kernels before 5.6): the same semantics by hand. Each component is opened
 * with O_NOFOLLOW relative to the directory fd before it; a symlink is read and its target
 * spliced into the remaining path (absolute: restart at the root; "..": pop a directory, never
 * above the root). Because every step holds an fd and never re-resolves a path from the top,
 * concurrent renames cannot move a step outside the root. */
#include "fs/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/path.h"

#define SFK_MAX_LINKS 40 /* like the kernel's MAXSYMLINKS */
#define SFK_MAX_DEPTH 512

static int sys_openat2(int dirfd, const char *path, int oflags, mode_t mode, unsigned long long resolve)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(unsigned)oflags;
    how.mode = (oflags & O_CREAT) ? (mode & 07777) : 0;
    how.resolve = resolve;
    long fd;
    int tries = 0;
    do /* EAGAIN: a concurrent rename raced the lookup; the kernel asks us to retry */
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN && ++tries < 8);
    return fd < 0 ? -errno : (int)fd;
}

int sfk_openat2_probe(int root_fd)
{
    int fd = sys_openat2(root_fd, ".", O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    return fd != -ENOSYS && fd != -EINVAL && fd != -EPERM; /* EPERM: seccomp filters in containers */
}

/* ---- the component walk ------------------------------------------------------------------- */

typedef struct {
    int fds[SFK_MAX_DEPTH]; /* fds[0] is the root (not owned) */
    int depth;
} walk_stack;

static void stack_pop_all(walk_stack *st)
{
    while (st->depth > 0)
        close(st->fds[st->depth--]);
}

/* Replaces the unread part of the path with link target + "/" + rest (just the target when
 * nothing is left, so the target's last component stays the last one). */
static int splice_link(char *todo, size_t cap, size_t *pos, const char *target, size_t tlen)
{
    size_t rest = strlen(todo + *pos);
    size_t sep = rest ? 1 : 0;
    if (tlen + sep + rest + 1 > cap)
        return -ENAMETOOLONG;
    memmove(todo + tlen + sep, todo + *pos, rest + 1);
    memcpy(todo, target, tlen);
    if (sep)
        todo[tlen] = '/';
    *pos = 0;
    return 0;
}

static int walk(struct sfk_fs *fs, const char *rel, int oflags, mode_t mode, int follow)
{
    char todo[2 * (SFK_PATH_MAX + 1)];
    size_t len = strlen(rel);
    if (len >= sizeof todo)
        return -ENAMETOOLONG;
    memcpy(todo, rel, len + 1);
    walk_stack st = {.depth = 0};
    st.fds[0] = fs->root_fd;
    size_t pos = 0;
    int links = 0;
    int rc;
    for (;;) {
        while (todo[pos] == '/')
            pos++;
        if (!todo[pos]) { /* the path names the current directory */
            rc = openat(st.fds[st.depth], ".", oflags & ~(O_CREAT | O_EXCL | O_NOFOLLOW), 0);
            rc = rc < 0 ? -errno : rc;
            break;
        }
        char *comp = todo + pos;
        size_t n = strcspn(comp, "/");
        int last = comp[n] == '\0';
        char saved = comp[n];
        comp[n] = '\0';
        size_t next = pos + n + (last ? 0 : 1);
        if (!strcmp(comp, ".")) {
            pos = next;
            continue;
        }
        if (!strcmp(comp, "..")) {
            if (st.depth > 0)
                close(st.fds[st.depth--]);
            pos = next;
            continue;
        }
        int cur = st.fds[st.depth];
        int fd;
        if (last)
            fd = openat(cur, comp, oflags | O_NOFOLLOW, mode);
        else
            fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        int err = fd < 0 ? errno : 0;
        int is_link = 0;
        if (fd >= 0) {
            struct stat sb;
            if (fstat(fd, &sb) < 0) {
                rc = -errno;
                close(fd);
                break;
            }
            is_link = S_ISLNK(sb.st_mode);
            if (!is_link && !last && !S_ISDIR(sb.st_mode)) {
                close(fd);
                rc = -ENOTDIR;
                break;
            }
        } else if (err == ELOOP || err == ENOTDIR || err == EEXIST) {
            struct stat sb; /* O_NOFOLLOW met a symlink (or O_EXCL/O_DIRECTORY did) */
            is_link = fstatat(cur, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode);
            if (is_link && err == EEXIST) { /* O_CREAT|O_EXCL on a link: it exists */
                rc = -EEXIST;
                break;
            }
        }
        if (is_link && (!last || follow)) {
            if (fd >= 0)
                close(fd);
            if (++links > SFK_MAX_LINKS) {
                rc = -ELOOP;
                break;
            }
            char target[SFK_PATH_MAX + 1];
            ssize_t tl = readlinkat(cur, comp, target, sizeof target - 1);
            if (tl < 0) {
                rc = -errno;
                break;
            }
            if (tl == 0) {
                rc = -ENOENT;
                break;
            }
            comp[n] = saved;
            pos = next;
            if (target[0] == '/') /* absolute targets start at the root */
                stack_pop_all(&st);
            if ((rc = splice_link(todo, sizeof todo, &pos, target, (size_t)tl)) < 0)
                break;
            continue;
        }
        if (fd < 0) {
            rc = -err;
            break;
        }
        if (last) {
            rc = fd;
            break;
        }
        if (st.depth + 1 >= SFK_MAX_DEPTH) {
            close(fd);
            rc = -ENAMETOOLONG;
            break;
        }
        st.fds[++st.depth] = fd;
        comp[n] = saved;
        pos = next;
    }
    stack_pop_all(&st);
    return rc;
}

int sfk_resolve(struct sfk_fs *fs, const char *rel, int oflags, mode_t mode, int follow)
{
    oflags |= O_CLOEXEC;
    if (!follow)
        oflags |= O_NOFOLLOW;
    if (fs->use_openat2)
        return sys_openat2(fs->root_fd, *rel ? rel : ".", oflags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    return walk(fs, rel, oflags & ~O_NOFOLLOW, mode, follow);
}

int sfk_resolve_parent(struct sfk_fs *fs, const char *rel, const char **name)
{
    const char *slash = strrchr(rel, '/');
    if (!*rel) {
        *name = ".";
        return sfk_resolve(fs, "", O_PATH | O_DIRECTORY, 0, 1);
    }
    if (!slash) {
        *name = rel;
        return sfk_resolve(fs, "", O_PATH | O_DIRECTORY, 0, 1);
    }
    char parent[SFK_PATH_MAX + 1];
    size_t n = (size_t)(slash - rel);
    if (n > SFK_PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(parent, rel, n);
    parent[n] = '\0';
    *name = slash + 1;
    return sfk_resolve(fs, parent, O_PATH | O_DIRECTORY, 0, 1);
}
