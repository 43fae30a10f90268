/* Shared by the libFuzzer targets: how a target reports a broken invariant (abort, so libFuzzer
 * keeps the input as a crash) and a byte cursor over the fuzz input. Header-only. */
#ifndef SFK_FUZZ_COMMON_H
#define SFK_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_FN static __attribute__((unused))

/* An invariant failed: say which and abort. libFuzzer records the input as crash-<sha1>. */
#define fuzz_check(cond, ...)                                                                                          \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

typedef struct {
    const uint8_t *p;
    size_t left;
} fuzz_in;

FUZZ_FN uint8_t fuzz_u8(fuzz_in *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

FUZZ_FN uint32_t fuzz_u32(fuzz_in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fuzz_u8(in);
    return v;
}

FUZZ_FN uint64_t fuzz_u64(fuzz_in *in)
{
    uint64_t hi = fuzz_u32(in);
    return hi << 32 | fuzz_u32(in);
}

/* A NUL-terminated copy of up to max bytes, ended early by a 0 byte in the input (malloc'd). */
FUZZ_FN char *fuzz_cstr(fuzz_in *in, size_t max)
{
    char *s = malloc(max + 1);
    if (!s)
        abort();
    size_t n = 0;
    while (n < max && in->left) {
        uint8_t c = fuzz_u8(in);
        if (!c)
            break;
        s[n++] = (char)c;
    }
    s[n] = '\0';
    return s;
}

/* The rest of the input as a NUL-terminated string (embedded NULs end it early, as in C). */
FUZZ_FN char *fuzz_rest_cstr(fuzz_in *in)
{
    return fuzz_cstr(in, in->left);
}

/* A failed login waits (0.2 s, growing) to slow password guessing; a fuzzer fails thousands a
 * second. Targets of the authentication code define FUZZ_NO_SLEEP, and this definition replaces
 * libc's usleep for the whole program (the core archive's calls bind to it at link time). */
#ifdef FUZZ_NO_SLEEP
int usleep(useconds_t us)
{
    (void)us;
    return 0;
}
#endif

#endif
