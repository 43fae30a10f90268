/* Client path handling, independent of any file system: the client sees a tree whose "/" is the
 * session's root (its home directory too). Internal. */
#ifndef SFK_FS_PATH_H
#define SFK_FS_PATH_H

#include <stddef.h>

/* Longest normalized path the engine handles (bytes, without the NUL). */
#define SFK_PATH_MAX 4095

/* Normalizes a client path into a path relative to the root: "" for the root itself, else
 * "a/b/c" — no leading or trailing slash, no "." or empty components, ".." removed lexically and
 * clamped at the root ("/../x" is "x"). A relative input is relative to the root. Writes at most
 * cap bytes including the NUL. Returns the length, or -errno: -EINVAL for a NUL byte in the path,
 * -ENAMETOOLONG when it does not fit. */
int sfk_path_normalize(const char *in, size_t len, char *out, size_t cap);

/* The client-visible absolute form of a normalized path: "/" or "/a/b". Same return as above. */
int sfk_path_absolute(const char *rel, char *out, size_t cap);

/* The last component of a normalized path ("" for the root). */
const char *sfk_path_basename(const char *rel);

/* Is [s, s+len) valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF)? */
int sfk_utf8_valid(const char *s, size_t len);

#endif
