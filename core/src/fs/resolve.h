/* Confined path resolution, shared by the local file system's operations. Internal to fs/. */
#ifndef SFK_FS_RESOLVE_H
#define SFK_FS_RESOLVE_H

#include <sys/types.h>

struct sfk_fs {
    int root_fd;     /* O_PATH|O_DIRECTORY */
    char *root_path; /* realpath of the root */
    size_t root_len;
    int use_openat2; /* probed at sfk_fs_new; 0 forces the component walk */
};

/* Opens rel (relative to the root) with oflags, following symlinks only within the root. With
 * follow = 0 the last component is not followed (O_NOFOLLOW semantics). Returns an fd or -errno. */
int sfk_resolve(struct sfk_fs *fs, const char *rel, int oflags, mode_t mode, int follow);

/* Opens rel's parent directory (O_PATH) and points *name at rel's last component ("." for the
 * root itself, so operations on the root act on the root fd's "." and fail where they must). */
int sfk_resolve_parent(struct sfk_fs *fs, const char *rel, const char **name);

int sfk_openat2_probe(int root_fd);

#endif
