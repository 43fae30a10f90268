/* Lexical path normalization. Lexical on purpose: ".." never depends on what a symlink points
 * at, so "/.." is "/" for every request and the result can be handed to the confined resolver
 * (fs/resolve.c) as a path relative to the root. */
#include "fs/path.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int sfk_path_normalize(const char *in, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return -ENAMETOOLONG;
    if (memchr(in, '\0', len))
        return -EINVAL;
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && in[i] == '/')
            i++;
        size_t start = i;
        while (i < len && in[i] != '/')
            i++;
        size_t n = i - start;
        if (n == 0 || (n == 1 && in[start] == '.'))
            continue;
        if (n == 2 && in[start] == '.' && in[start + 1] == '.') {
            while (o > 0 && out[o - 1] != '/') /* drop the last component, clamped at the root */
                o--;
            if (o > 0)
                o--;
            continue;
        }
        size_t need = o + (o ? 1 : 0) + n;
        if (need + 1 > cap)
            return -ENAMETOOLONG;
        if (o)
            out[o++] = '/';
        memcpy(out + o, in + start, n);
        o += n;
    }
    out[o] = '\0';
    return (int)o;
}

int sfk_path_absolute(const char *rel, char *out, size_t cap)
{
    size_t n = strlen(rel);
    if (n + 2 > cap)
        return -ENAMETOOLONG;
    out[0] = '/';
    memcpy(out + 1, rel, n + 1);
    return (int)n + 1;
}

const char *sfk_path_basename(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return slash ? slash + 1 : rel;
}

int sfk_utf8_valid(const char *str, size_t len)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (len - i <= (size_t)n) /* the sequence runs past the end */
            return 0;
        for (int k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)n + 1;
    }
    return 1;
}
