/* Where a client path really leads inside the root (symbolic links followed, confined), written
 * as a client path again. The on_before_* events carry it so that a policy written against paths
 * holds even when a link inside the root points into a protected tree. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs/local.h"
#include "fs/resolve.h"

/* The host path behind fd, as a client path ("/" + the part under the root); -1 when the fd is
 * not under the root (it always is: resolution is confined) or the path does not fit. */
static int client_path_of_fd(const struct sfk_fs *fs, int fd, char *out, size_t cap)
{
    char proc[64], host[PATH_MAX + 1];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, host, sizeof host - 1);
    if (n < 0)
        return -1;
    host[n] = '\0';
    if (strncmp(host, fs->root_path, fs->root_len) || (host[fs->root_len] && host[fs->root_len] != '/'))
        return -1;
    const char *below = host + fs->root_len;
    int w = snprintf(out, cap, "%s", *below ? below : "/");
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int sfk_fs_resolved_path(struct sfk_fs *fs, const char *rel, char *out, size_t cap)
{
    if (!fs || !rel || cap < 2)
        return -EINVAL;
    int fd = sfk_resolve(fs, rel, O_PATH | O_CLOEXEC, 0, 1);
    if (fd >= 0) {
        int rc = client_path_of_fd(fs, fd, out, cap);
        close(fd);
        return rc < 0 ? -ENAMETOOLONG : 0;
    }
    if (fd != -ENOENT)
        return fd;
    /* not there yet (an upload, a MKDIR): the parent resolved, plus the last component */
    const char *name = NULL;
    int pfd = sfk_resolve_parent(fs, rel, &name);
    if (pfd < 0)
        return pfd;
    char parent[PATH_MAX + 1];
    int rc = client_path_of_fd(fs, pfd, parent, sizeof parent);
    close(pfd);
    if (rc < 0)
        return -ENAMETOOLONG;
    int w = snprintf(out, cap, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", name);
    return w < 0 || (size_t)w >= cap ? -ENAMETOOLONG : 0;
}
