/* REALPATH as OpenSSH's sftp-server answers it (its realpath(3) walk), inside the root: every
 * symlink is followed, "." and empty components are skipped, ".." drops the last resolved
 * component (never above the root), an absolute link target starts again at the root, and only
 * the last component may be missing. Each step is one name looked up in the directory fd of the
 * prefix resolved so far, so nothing outside the root is ever looked at. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/local.h"
#include "fs/path.h"
#include "fs/resolve.h"

#define SFK_REALPATH_MAX_LINKS 32 /* as OpenSSH: more is ELOOP */

/* Drops the last component of out (length *o). */
static void pop(char *out, size_t *o)
{
    while (*o > 0 && out[*o - 1] != '/')
        (*o)--;
    if (*o > 0)
        (*o)--;
    out[*o] = '\0';
}

/* Reopens the directory fd of the resolved prefix out (which holds no symlinks). */
static int reopen(sfk_fs *fs, int *dfd, const char *out)
{
    int fd = sfk_resolve(fs, out, O_PATH | O_DIRECTORY, 0, 1);
    if (fd < 0)
        return fd;
    close(*dfd);
    *dfd = fd;
    return 0;
}

int sfk_fs_realpath(sfk_fs *fs, const char *in, size_t len, char *out, size_t cap)
{
    if (memchr(in, '\0', len))
        return -EINVAL;
    if (len > SFK_PATH_MAX || cap < 1)
        return -ENAMETOOLONG;
    /* left: what is still to walk (a link's target is put in front of it) */
    size_t left_cap = 2 * (SFK_PATH_MAX + 1) + 2;
    char *left = malloc(left_cap), *link = malloc(SFK_PATH_MAX + 1);
    int dfd = sfk_resolve(fs, "", O_PATH | O_DIRECTORY, 0, 1);
    int rc = 0, links = 0;
    size_t o = 0;
    out[0] = '\0';
    if (!left || !link) {
        rc = -ENOMEM;
        goto done;
    }
    if (dfd < 0) {
        rc = dfd;
        goto done;
    }
    memcpy(left, in, len);
    left[len] = '\0';
    char *p = left;
    int nondir = 0; /* the last resolved component is a file (or missing): only "." / ".." may follow */
    while (*p) {
        while (*p == '/')
            p++;
        const char *name = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - name);
        if (n == 0 || (n == 1 && name[0] == '.'))
            continue;
        if (n == 2 && name[0] == '.' && name[1] == '.') {
            if (o > 0) {
                pop(out, &o);
                nondir = 0;
                if ((rc = reopen(fs, &dfd, out)) < 0)
                    goto done;
            }
            continue;
        }
        if (nondir) {
            rc = -ENOTDIR;
            goto done;
        }
        char comp[NAME_MAX + 1];
        if (n > NAME_MAX) {
            rc = -ENAMETOOLONG;
            goto done;
        }
        memcpy(comp, name, n);
        comp[n] = '\0';
        struct stat sb;
        if (fstatat(dfd, comp, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = -errno;
            if (rc != -ENOENT || *p == '/')
                goto done; /* only the last component may be missing (a file about to be created) */
            rc = 0;
            sb.st_mode = 0;
        }
        if (S_ISLNK(sb.st_mode)) {
            if (++links > SFK_REALPATH_MAX_LINKS) {
                rc = -ELOOP;
                goto done;
            }
            ssize_t k = readlinkat(dfd, comp, link, SFK_PATH_MAX);
            if (k <= 0) {
                rc = k < 0 ? -errno : -ENOENT;
                goto done;
            }
            link[k] = '\0';
            if (link[0] == '/' && o > 0) { /* absolute: from the root again */
                o = 0;
                out[0] = '\0';
                if ((rc = reopen(fs, &dfd, out)) < 0)
                    goto done;
            }
            /* left becomes target + "/" + the rest (p points at the rest, inside left) */
            size_t rest = strlen(p);
            if ((size_t)k + 1 + rest + 1 > left_cap) {
                rc = -ENAMETOOLONG;
                goto done;
            }
            memmove(left + k + 1, p, rest + 1);
            memcpy(left, link, (size_t)k);
            left[k] = '/';
            p = left;
            continue;
        }
        size_t need = o + (o ? 1 : 0) + n;
        if (need + 1 > cap || need > SFK_PATH_MAX) {
            rc = -ENAMETOOLONG;
            goto done;
        }
        if (o)
            out[o++] = '/';
        memcpy(out + o, comp, n + 1);
        o += n;
        if (!S_ISDIR(sb.st_mode)) {
            nondir = 1;
            continue;
        }
        int fd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            rc = -errno;
            goto done;
        }
        close(dfd);
        dfd = fd;
    }
done:
    if (dfd >= 0)
        close(dfd);
    free(left);
    free(link);
    return rc < 0 ? rc : (int)o;
}
