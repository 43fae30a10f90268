/* Hex text <-> bytes for the test programs that answer on_external_sign (its `data`, `pars` and
 * `signed_data` are hex). Header-only: each test program is one executable of its own. */
#ifndef SFK_TEST_HEX_H
#define SFK_TEST_HEX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes s into out (at most max bytes): the byte count, or -1 for NULL, odd length, too long or
 * a non-hex digit. */
static __attribute__((unused)) int test_unhex(const char *s, unsigned char *out, size_t max)
{
    size_t n = s ? strlen(s) : 1;
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (int)(n / 2);
}

/* Lower-case hex of p[0..n) (malloc'd; NULL when out of memory). */
static __attribute__((unused)) char *test_hex(const unsigned char *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; s && i < n; i++)
        sprintf(s + 2 * i, "%02x", p[i]);
    if (s)
        s[2 * n] = '\0';
    return s;
}

#endif
