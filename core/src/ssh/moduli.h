/* Diffie-Hellman group exchange sizes (MinDHGroupSize, MaxDHGroupSize, CustomDHGroupIndex) through
 * libssh's SSH_BIND_OPTIONS_MODULI: libssh 0.10.6 takes no size limits, but it picks the group it
 * sends from the moduli file it is given, so a file holding only the allowed groups is the limit.
 * Internal. */
#ifndef SFK_MODULI_H
#define SFK_MODULI_H

#include <stddef.h>
#include <stdint.h>

#include "sftpkit/sftpkit.h"

/* The groups libssh itself reads when given no file (its MODULI_FILE). */
#define SFK_MODULI_SYSTEM "/etc/ssh/moduli"

typedef struct {
    int64_t min_bits, max_bits; /* MinDHGroupSize, MaxDHGroupSize */
    int64_t index;              /* CustomDHGroupIndex: -1 = any; else the index-th usable group */
} sfk_moduli_limits;

/* Does limits differ from what libssh does on its own (2048..8192, any group)? */
int sfk_moduli_needed(const sfk_moduli_limits *limits);

/* Writes the usable groups of source within limits (and only the index-th one when index >= 0)
 * to a new file "moduli" in a new private directory (0700) under TMPDIR; *path is malloc'd.
 * 0, or SFTPKIT_ERROR_INVALID_SETUP (no group left, index past the last group, min > max,
 * source unreadable) / SFTPKIT_ERROR_IO with the last error set; nothing is left behind then. */
int sfk_moduli_write(const char *source, const sfk_moduli_limits *limits, char **path);

/* Removes the file and its directory, frees path. NULL is fine. */
void sfk_moduli_remove(char *path);

#endif
