/* Writes all of a buffer to a descriptor (retrying short writes and EINTR), for the test programs
 * that feed a child process or a pipe. Header-only: each test program is one executable. */
#ifndef SFK_TEST_WRITE_ALL_H
#define SFK_TEST_WRITE_ALL_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* 0 when everything was written, -1 on an error or a descriptor that takes nothing. */
static __attribute__((unused)) int test_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

#endif
