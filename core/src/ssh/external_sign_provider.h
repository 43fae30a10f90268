/* The in-process OpenSSL 3 provider that lets a host key's private half live outside the process.
 * Internal.
 *
 * libssh 0.10.6 has no signing hook and rebuilds keys by algorithm name with no library context,
 * so the only way in is the process-wide default property query: while at least one server with
 * an external host key is running, EVP_set_default_properties(NULL, "?provider=sftpkit-external")
 * makes OpenSSL prefer this provider's EC, RSA and ED25519 key management and ECDSA, RSA and
 * ED25519 signatures for EVERY user of OpenSSL in the process. For every key that is not an
 * external key each entry point calls the default provider's own function with the default
 * provider's own objects (exact pass-through); only a signature with an external key goes to
 * sfk_ext_key_sign (external_keys.h). See docs/external-signing.md. */
#ifndef SFK_EXTERNAL_SIGN_PROVIDER_H
#define SFK_EXTERNAL_SIGN_PROVIDER_H

#define SFK_EXT_PROVIDER_NAME "sftpkit-external"

/* Loads the default provider and this one (once per process) and, on the first acquire, sets the
 * process-wide preference. Counted: the preference is removed again when the last holder
 * releases. Returns 0, or -1 with the library's last error set. */
int sfk_ext_provider_acquire(void);
void sfk_ext_provider_release(void);

/* How many holders there are now (tests). */
int sfk_ext_provider_holders(void);

#endif
