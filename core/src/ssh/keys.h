/* SSH keys inside the core: the sftpkit_key object's internals and helpers shared by host keys and
 * public-key authentication. Internal. */
#ifndef SFK_KEYS_H
#define SFK_KEYS_H

#include <libssh/libssh.h>
#include <stdint.h>

#include "sftpkit/sftpkit.h"

/* A copy of the libssh key behind handle (caller frees with ssh_key_free), or NULL. */
ssh_key sfk_key_dup_by_handle(int64_t handle);

/* Facts about a key, in OpenSSH's notation. Strings are malloc'd; any out may be NULL. */
typedef struct {
    char *algorithm; /* "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256" */
    int bits;
    char *fingerprint_md5;    /* "MD5:aa:bb:..." */
    char *fingerprint_sha1;   /* "SHA1:base64" */
    char *fingerprint_sha256; /* "SHA256:base64" */
} sfk_key_info;

int sfk_key_describe(ssh_key key, sfk_key_info *info);
void sfk_key_info_clear(sfk_key_info *info);

/* Parses one authorized_keys line ("[options] type base64 [comment]") into a public key. */
ssh_key sfk_key_parse_public_line(const char *line);

#endif
