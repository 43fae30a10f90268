/* libFuzzer target: client path normalization and resolution inside a root, on a real tree with
 * symlinks that point out of it (sandbox.h), and links the input itself plants.
 * Input: [flags][op path\0 [arg\0]]...  flags bit 0: the component walk instead of openat2.
 *   ops: symlink(target, path), open (O_RDONLY / O_PATH / O_DIRECTORY / O_CREAT|O_WRONLY,
 *        following the last link or not), stat, lstat, readlink, opendir+readdir, mkdir,
 *        rename, unlink.
 * Checked, for every path: normalization yields "" or "a/b" with no empty, "." or ".."
 * component, returns its length, refuses NUL bytes and is idempotent, and the absolute form is
 * "/" + it; every descriptor the file system hands out names something inside the root
 * (/proc/self/fd); and after each input nothing outside the root was read or changed. */
#include <errno.h>

#include "fuzz_common.h"
#include "sandbox.h"

#include "fs/local.h"
#include "fs/path.h"

static sandbox sb;
static sfk_fs *fs;
static char root_real[PATH_MAX];
static size_t root_real_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    sandbox_init(&sb);
    fuzz_check(realpath(sb.root, root_real) != NULL, "realpath");
    root_real_len = strlen(root_real);
    fuzz_check(sfk_fs_new(sb.root, &fs) == 0, "sfk_fs_new");
    return 0;
}

static int is_normalized(const char *p, size_t len)
{
    if (!len)
        return 1;
    if (p[0] == '/' || p[len - 1] == '/')
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '/')
            continue;
        size_t n = i - start;
        if (n == 0 || (n == 1 && p[start] == '.') || (n == 2 && p[start] == '.' && p[start + 1] == '.'))
            return 0;
        start = i + 1;
    }
    return 1;
}

/* Normalizes a raw client path (as the engine does) and checks the result; 0 and rel, or -1. */
static int normalize(const uint8_t *raw, size_t len, char *rel, size_t cap)
{
    int n = sfk_path_normalize((const char *)raw, len, rel, cap);
    if (memchr(raw, '\0', len))
        fuzz_check(n == -EINVAL, "a path with a NUL byte normalized (%d)", n);
    if (n < 0) {
        fuzz_check(n == -EINVAL || n == -ENAMETOOLONG, "normalize returned %d", n);
        return -1;
    }
    fuzz_check((size_t)n == strlen(rel) && (size_t)n < cap, "normalize returned %d for \"%s\"", n, rel);
    fuzz_check(is_normalized(rel, (size_t)n), "\"%s\" is not normalized", rel);
    char again[SFK_PATH_MAX + 1];
    int m = sfk_path_normalize(rel, (size_t)n, again, sizeof again);
    fuzz_check(m == n && !strcmp(again, rel), "normalize is not idempotent: \"%s\" -> \"%s\"", rel, again);
    char abs[SFK_PATH_MAX + 2];
    int a = sfk_path_absolute(rel, abs, sizeof abs);
    fuzz_check(a == n + 1 && abs[0] == '/' && (n ? !strcmp(abs + 1, rel) : !abs[1]), "absolute of \"%s\" is \"%s\"",
               rel, abs);
    const char *base = sfk_path_basename(rel);
    fuzz_check(!strchr(base, '/') && (n ? strlen(base) > 0 : !*base), "basename of \"%s\" is \"%s\"", rel, base);
    return 0;
}

/* The descriptor names the root or something under it. */
static void check_inside(int fd, const char *rel)
{
    char link[64], target[PATH_MAX + 1];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    fuzz_check(n > 0, "readlink %s", link);
    target[n] = '\0';
    fuzz_check(!strncmp(target, root_real, root_real_len) &&
                   (target[root_real_len] == '\0' || target[root_real_len] == '/'),
               "\"%s\" opened %s, outside the root %s", rel, target, root_real);
}

static const int open_flags[] = {O_RDONLY, O_PATH, O_RDONLY | O_DIRECTORY, O_WRONLY | O_CREAT, O_PATH | O_DIRECTORY};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    fuzz_in in = {data + 1, size - 1};
    sfk_fs_force_walk(fs, data[0] & 1);
    int dirty = 0; /* the tree is rebuilt only after an operation that may have changed it */
    for (int step = 0; step < 8 && in.left; step++) {
        uint8_t op = fuzz_u8(&in);
        /* a raw path: up to the next 0xff byte, so it may hold NULs for normalize to refuse */
        const uint8_t *raw = in.p;
        size_t len = 0;
        while (len < in.left && raw[len] != 0xff)
            len++;
        in.p += len < in.left ? len + 1 : len;
        in.left -= len < in.left ? len + 1 : len;
        char rel[SFK_PATH_MAX + 1];
        size_t cap = op & 0x80 ? 1 + (op & 0x3f) : sizeof rel; /* small buffers too */
        if (normalize(raw, len, rel, cap) < 0)
            continue;
        int kind = op % 9;
        dirty |= kind == 0 || kind >= 6 || (kind == 1 && (open_flags[(op >> 4) % 5] & O_CREAT));
        switch (kind) {
        case 0: { /* symlink: the next string is the target, stored verbatim */
            char *target = fuzz_cstr(&in, 300);
            sfk_fs_symlink(fs, target, rel);
            free(target);
            break;
        }
        case 1: {
            int fl = open_flags[(op >> 4) % 5], follow = (op >> 3) & 1;
            int fd = sfk_fs_open(fs, rel, fl, 0644, follow);
            if (fd >= 0) {
                check_inside(fd, rel);
                close(fd);
            }
            break;
        }
        case 2:
        case 3: {
            struct stat st;
            sfk_fs_stat(fs, rel, kind == 2, &st);
            break;
        }
        case 4: {
            char buf[PATH_MAX];
            int n = sfk_fs_readlink(fs, rel, buf, sizeof buf);
            fuzz_check(n < 0 || (size_t)n == strlen(buf), "readlink length %d", n);
            break;
        }
        case 5: {
            DIR *d = NULL;
            if (sfk_fs_opendir(fs, rel, &d) == 0) {
                check_inside(dirfd(d), rel);
                while (readdir(d))
                    ;
                closedir(d);
            }
            break;
        }
        case 6:
            sfk_fs_mkdir(fs, rel, 0755);
            break;
        case 7: {
            char *to = fuzz_cstr(&in, 300), rel2[SFK_PATH_MAX + 1];
            if (normalize((const uint8_t *)to, strlen(to), rel2, sizeof rel2) == 0)
                sfk_fs_rename(fs, rel, rel2, op & 0x10);
            free(to);
            break;
        }
        case 8:
            sfk_fs_unlink(fs, rel);
            break;
        }
    }
    sandbox_check(&sb);
    if (dirty)
        sandbox_reset_root(&sb);
    return 0;
}
