/* The --wrap seam of fault_inject.h. tests/CMakeLists.txt links test_sftp_faults with
 * -Wl,--wrap=<name> for each function below, so every call to it from the objects of that link
 * (the engine and file-system layer pulled from the core archive, and the test) lands in
 * __wrap_<name>, which either fails it (errno EIO / ENOMEM) or calls the real one. Calls made
 * inside shared libraries (libc itself, libssh, cmocka) are not wrapped. */
#include "fault_inject.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

static fi_kind armed_kind;
static long armed_n, seen;
static int counting, fired, persistent;
static const char *fired_at = "";

void fi_arm(fi_kind kind, long n)
{
    armed_kind = kind;
    armed_n = n;
    seen = 0;
    fired = 0;
    persistent = 0;
    fired_at = "";
}

void fi_arm_persistent(fi_kind kind, long n)
{
    fi_arm(kind, n);
    persistent = 1;
}

void fi_count(int on)
{
    counting = on;
}

int fi_fired(void)
{
    return fired;
}

long fi_seen(void)
{
    return seen;
}

const char *fi_fired_at(void)
{
    return fired_at;
}

/* Should this call of `kind` fail? */
static int fail_now(fi_kind kind, const char *name)
{
    if (!counting || !armed_n || kind != armed_kind || (fired && !persistent))
        return 0;
    if (++seen < armed_n)
        return 0;
    if (!fired)
        fired_at = name;
    fired = 1;
    return 1;
}

#define FAIL_ALLOC(name)                                                                                               \
    if (fail_now(FI_ALLOC, name))                                                                                      \
        return errno = ENOMEM, NULL;
#define FAIL_FS(name, ret)                                                                                             \
    if (fail_now(FI_FS, name))                                                                                         \
        return errno = EIO, ret;

/* ---- allocations ---------------------------------------------------------------------------- */

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
char *__real_strdup(const char *);
char *__real_strndup(const char *, size_t);

void *__wrap_malloc(size_t n)
{
    FAIL_ALLOC("malloc");
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    FAIL_ALLOC("calloc");
    return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    FAIL_ALLOC("realloc");
    return __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    FAIL_ALLOC("strdup");
    return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    FAIL_ALLOC("strndup");
    return __real_strndup(s, n);
}

/* ---- file-system calls ---------------------------------------------------------------------- */

/* Plain wrappers: same arguments, -1 (or NULL) with errno EIO on the failing call. */
#define WRAP_FS(ret_t, name, fail_ret, params, args)                                                                   \
    ret_t __real_##name params;                                                                                        \
    ret_t __wrap_##name params                                                                                         \
    {                                                                                                                  \
        FAIL_FS(#name, fail_ret);                                                                                      \
        return __real_##name args;                                                                                     \
    }

WRAP_FS(int, fstat, -1, (int fd, struct stat *st), (fd, st))
WRAP_FS(int, fstatat, -1, (int d, const char *p, struct stat *st, int f), (d, p, st, f))
WRAP_FS(ssize_t, readlinkat, -1, (int d, const char *p, char *b, size_t n), (d, p, b, n))
WRAP_FS(ssize_t, pread, -1, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
WRAP_FS(ssize_t, pwrite, -1, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
WRAP_FS(int, fstatvfs, -1, (int fd, struct statvfs *sv), (fd, sv))
WRAP_FS(int, utimensat, -1, (int d, const char *p, const struct timespec t[2], int f), (d, p, t, f))
WRAP_FS(int, futimens, -1, (int fd, const struct timespec t[2]), (fd, t))
WRAP_FS(int, unlinkat, -1, (int d, const char *p, int f), (d, p, f))
WRAP_FS(int, symlinkat, -1, (const char *t, int d, const char *p), (t, d, p))
WRAP_FS(int, renameat, -1, (int a, const char *p, int b, const char *q), (a, p, b, q))
WRAP_FS(int, renameat2, -1, (int a, const char *p, int b, const char *q, unsigned f), (a, p, b, q, f))
WRAP_FS(int, mkdirat, -1, (int d, const char *p, mode_t m), (d, p, m))
WRAP_FS(int, linkat, -1, (int a, const char *p, int b, const char *q, int f), (a, p, b, q, f))
WRAP_FS(int, ftruncate, -1, (int fd, off_t n), (fd, n))
WRAP_FS(int, fsync, -1, (int fd), (fd))
WRAP_FS(DIR *, fdopendir, NULL, (int fd), (fd))
WRAP_FS(int, fchownat, -1, (int d, const char *p, uid_t u, gid_t g, int f), (d, p, u, g, f))
WRAP_FS(int, fchmodat, -1, (int d, const char *p, mode_t m, int f), (d, p, m, f))
WRAP_FS(int, fchmod, -1, (int fd, mode_t m), (fd, m))
WRAP_FS(ssize_t, copy_file_range, -1, (int a, off64_t *x, int b, off64_t *y, size_t n, unsigned f), (a, x, b, y, n, f))

struct dirent *__real_readdir(DIR *d);
struct dirent *__wrap_readdir(DIR *d)
{
    FAIL_FS("readdir", NULL);
    return __real_readdir(d);
}

int __real_openat(int d, const char *p, int f, ...);
int __wrap_openat(int d, const char *p, int f, ...)
{
    mode_t mode = 0;
    if (f & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, f);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    FAIL_FS("openat", -1);
    return __real_openat(d, p, f, mode);
}

/* openat2 has no libc wrapper: the resolver calls syscall(SYS_openat2, dirfd, path, how, size).
 * Every syscall the engine makes through syscall() counts as a file-system call. */
long __real_syscall(long n, ...);
long __wrap_syscall(long n, ...)
{
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long), d = va_arg(ap, long);
    va_end(ap);
    FAIL_FS("syscall", -1);
    return __real_syscall(n, a, b, c, d);
}
