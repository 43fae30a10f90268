/* A temporary root for the local back-end, and a sentinel tree beside it that nothing may touch:
 *   <base>/root/     the session's root, rebuilt before every input: files, a directory, and
 *                    symlinks that point out of it (relative, absolute, "..", a loop)
 *   <base>/outside/  secret, dir/inner: never to be read, listed, written, linked or renamed.
 * "Touched" is measured, not assumed: every sentinel (and <base>) gets an atime older than its
 * mtime, so on a relatime mount any read or listing moves the atime; any write, chmod, link,
 * rename or new entry moves the mtime or ctime. After each input all of them must be unchanged.
 * Header-only; one target includes it. */
#ifndef SFK_FUZZ_SANDBOX_H
#define SFK_FUZZ_SANDBOX_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

#define SB_SENTINELS 5

typedef struct {
    char base[256], root[300], outside[300];
    char sentinel[SB_SENTINELS][320];
    struct stat before[SB_SENTINELS];
} sandbox;

FUZZ_FN int sb_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag;
    return ftw->level ? remove(path) : 0; /* the root itself stays */
}

FUZZ_FN void sb_write(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    fuzz_check(fd >= 0, "sandbox: cannot create %s", path);
    fuzz_check(write(fd, content, strlen(content)) == (ssize_t)strlen(content), "sandbox: write %s", path);
    close(fd);
}

FUZZ_FN void sb_path(char *out, size_t cap, const char *dir, const char *rel)
{
    snprintf(out, cap, "%s/%s", dir, rel);
}

/* Empties the root and plants the fixed tree again, so every input starts from the same state. */
FUZZ_FN void sandbox_reset_root(sandbox *sb)
{
    char p[400], t[400];
    chmod(sb->root, 0755);
    nftw(sb->root, sb_rm, 16, FTW_DEPTH | FTW_PHYS);
    sb_path(p, sizeof p, sb->root, "d");
    mkdir(p, 0755);
    sb_path(p, sizeof p, sb->root, "d/f");
    sb_write(p, "hello, fuzz\n");
    sb_path(p, sizeof p, sb->root, "empty");
    sb_write(p, "");
    static const char *const links[][2] = {
        {"up", "../outside"}, {"dd", ".."},         {"loop", "loop"},
        {"rel", "d/f"},       {"d/back", "../d/f"}, {"d/esc", "../../outside/secret"},
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        sb_path(p, sizeof p, sb->root, links[i][0]);
        symlink(links[i][1], p);
    }
    sb_path(p, sizeof p, sb->root, "abs");
    sb_path(t, sizeof t, sb->outside, "secret");
    symlink(t, p);
    sb_path(p, sizeof p, sb->root, "absdir");
    symlink(sb->outside, p);
}

FUZZ_FN int sb_rm_all(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static char sb_cleanup_base[256];

/* A fuzzer run ends with exit(): the sandbox goes with it (a crash leaves it for inspection). */
FUZZ_FN void sb_cleanup(void)
{
    if (sb_cleanup_base[0])
        nftw(sb_cleanup_base, sb_rm_all, 16, FTW_DEPTH | FTW_PHYS);
}

FUZZ_FN void sandbox_init(sandbox *sb)
{
    memset(sb, 0, sizeof *sb);
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(sb->base, sizeof sb->base, "%s/sfkfuzz.XXXXXX", tmp);
    fuzz_check(mkdtemp(sb->base) != NULL, "sandbox: mkdtemp");
    snprintf(sb_cleanup_base, sizeof sb_cleanup_base, "%s", sb->base);
    atexit(sb_cleanup);
    sb_path(sb->root, sizeof sb->root, sb->base, "root");
    sb_path(sb->outside, sizeof sb->outside, sb->base, "outside");
    mkdir(sb->root, 0755);
    mkdir(sb->outside, 0755);
    char p[400];
    sb_path(p, sizeof p, sb->outside, "secret");
    sb_write(p, "SECRET: must never reach a client\n");
    sb_path(p, sizeof p, sb->outside, "dir");
    mkdir(p, 0755);
    sb_path(p, sizeof p, sb->outside, "dir/inner");
    sb_write(p, "inner\n");
    const char *rels[SB_SENTINELS] = {"", "outside", "outside/secret", "outside/dir", "outside/dir/inner"};
    for (int i = SB_SENTINELS - 1; i >= 0; i--) { /* children first: setting times does not touch a parent */
        snprintf(sb->sentinel[i], sizeof sb->sentinel[i], "%s%s%s", sb->base, *rels[i] ? "/" : "", rels[i]);
        struct timespec ts[2] = {{1000, 0}, {2000, 0}}; /* atime < mtime: relatime will record a read */
        fuzz_check(utimensat(AT_FDCWD, sb->sentinel[i], ts, AT_SYMLINK_NOFOLLOW) == 0, "sandbox: utimensat");
    }
    for (int i = 0; i < SB_SENTINELS; i++)
        fuzz_check(lstat(sb->sentinel[i], &sb->before[i]) == 0, "sandbox: lstat");
    sandbox_reset_root(sb);
}

FUZZ_FN int sb_same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Nothing outside the root was read, listed, changed, linked to or added to. */
FUZZ_FN void sandbox_check(const sandbox *sb)
{
    for (int i = 0; i < SB_SENTINELS; i++) {
        struct stat now;
        fuzz_check(lstat(sb->sentinel[i], &now) == 0, "%s outside the root disappeared", sb->sentinel[i]);
        const struct stat *b = &sb->before[i];
        fuzz_check(now.st_ino == b->st_ino && now.st_mode == b->st_mode && now.st_nlink == b->st_nlink &&
                       now.st_size == b->st_size && now.st_uid == b->st_uid && now.st_gid == b->st_gid,
                   "%s outside the root changed (mode/links/size/owner)", sb->sentinel[i]);
        fuzz_check(sb_same_time(&now.st_atim, &b->st_atim), "%s outside the root was read (atime moved)",
                   sb->sentinel[i]);
        fuzz_check(sb_same_time(&now.st_mtim, &b->st_mtim) && sb_same_time(&now.st_ctim, &b->st_ctim),
                   "%s outside the root was modified (mtime/ctime moved)", sb->sentinel[i]);
    }
}

/* Open descriptors of this process (a leak check; the count includes the one used to count). */
FUZZ_FN int fuzz_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

#endif
