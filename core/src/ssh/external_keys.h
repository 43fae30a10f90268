/* External host keys: keys known to the process only by their public half and an id, whose
 * signatures the application produces in on_external_sign. Internal.
 *
 * The ssh_key handed to libssh is an ordinary private key holding the real public key and a
 * random token where the private value goes. Only the external-sign provider recognises the token
 * (sfk_ext_key_by_token) and sends the signature to the application; anything else that signs
 * with such a key signs with the token and produces a signature no client accepts (fails safe). */
#ifndef SFK_EXTERNAL_KEYS_H
#define SFK_EXTERNAL_KEYS_H

#include <libssh/libssh.h>
#include <stddef.h>
#include <stdint.h>

#include "sftpkit/sftpkit.h"

typedef struct sfk_ext_key sfk_ext_key;

enum { SFK_EXT_EC = 0, SFK_EXT_RSA = 1, SFK_EXT_ED25519 = 2 };

/* Creates the token key for a public key line and registers it under key_id. On success *out is a
 * new libssh key that libssh treats as a private key. Entries live until the process ends (copies
 * of the key inside libssh may outlive every sftpkit_key). */
int sfk_ext_key_create(const char *public_line, const char *key_id, ssh_key *out);

/* The external key whose token this is (a private value found in an imported key), or NULL. */
const sfk_ext_key *sfk_ext_key_by_token(const unsigned char *token, size_t len);
int sfk_ext_key_kind(const sfk_ext_key *k);
/* The real public key for Ed25519 (32 bytes), which OpenSSL would otherwise derive from the token. */
const unsigned char *sfk_ext_key_ed25519_public(const sfk_ext_key *k);

/* 1 when key (any copy) is an external key. */
int sfk_ext_key_is_external(ssh_key key);

/* Produces a signature through the calling thread's server's on_external_sign. tbs is the digest
 * (hash_name "SHA256"/"SHA384"/"SHA512") for ECDSA and RSA, the raw message (hash_name NULL) for
 * Ed25519. Writes DER (ECDSA), PKCS#1 v1.5 (RSA) or 64 bytes (Ed25519) and verifies it against the
 * public key first. Returns 1 on success, 0 on failure (the thread's failure text is set). */
int sfk_ext_key_sign(const sfk_ext_key *k, const char *hash_name, const unsigned char *tbs, size_t tbslen,
                     unsigned char *sig, size_t *siglen, size_t sigsize);

/* The connection thread says who signs: the server whose on_external_sign fires and the
 * connection id it reports. Thread-local; s NULL clears it. */
void sfk_ext_sign_set_thread(sftpkit_server *s, int64_t connection_id);
/* Why the last external signature on this thread failed (NULL if none since the last call);
 * clears it. */
const char *sfk_ext_sign_take_failure(void);

#endif
