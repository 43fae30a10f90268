/* server_key_handle copies a key into a slot (the reference's "copied, not assigned" rule) and
 * fills the slot's read-only server_key_* columns. libssh keeps one host key per type, so two
 * keys of one type (all ECDSA curves count as one) are refused. */
#include "ssh/host_keys.h"

#include <inttypes.h>
#include <stdlib.h>

#include "api/errors.h"
#include "api/hooks.h"
#include "api/server.h"
#include "ssh/external_keys.h"
#include "ssh/external_sign_provider.h"
#include "ssh/keys.h"

#define SFK_MAX_HOST_KEYS 16

struct sfk_host_keys {
    ssh_key key[SFK_MAX_HOST_KEYS];
    int64_t handle[SFK_MAX_HOST_KEYS]; /* the handle the slot was set from */
};

static int type_family(ssh_key k)
{
    enum ssh_keytypes_e t = ssh_key_type(k);
    if (t == SSH_KEYTYPE_ECDSA_P256 || t == SSH_KEYTYPE_ECDSA_P384 || t == SSH_KEYTYPE_ECDSA_P521)
        return SSH_KEYTYPE_ECDSA_P256;
    return t;
}

/* Called with s->lock held (the generated setter's hook). */
int sfk_hook_server_key_handle(sftpkit_server *s, int64_t index, int64_t value)
{
    if (index < 0 || index >= SFK_MAX_HOST_KEYS)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "server_key_handle: slot %" PRId64 " is outside 0..15",
                         index);
    if (!s->host_keys && !(s->host_keys = calloc(1, sizeof *s->host_keys)))
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    struct sfk_host_keys *hk = s->host_keys;
    ssh_key key = NULL;
    sfk_key_info info = {0};
    if (value != 0) {
        key = sfk_key_dup_by_handle(value);
        if (!key)
            return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "server_key_handle: no key has handle %" PRId64, value);
        if (!ssh_key_is_private(key)) {
            ssh_key_free(key);
            return sfk_error(SFTPKIT_ERROR_NO_PRIVATE_KEY,
                             "server_key_handle: key %" PRId64 " has no private part; a host key needs one", value);
        }
        int64_t count = s->values[SFK_P_SERVER_KEY_COUNT].i;
        for (int64_t i = 0; i < count && i < SFK_MAX_HOST_KEYS; i++) {
            sfk_value *h = sfk_value_slot(s, SFK_P_SERVER_KEY_HANDLE, i);
            if (i != index && hk->key[i] && h && h->i == hk->handle[i] && type_family(hk->key[i]) == type_family(key)) {
                ssh_key_free(key);
                return sfk_error(SFTPKIT_ERROR_INVALID_VALUE,
                                 "server_key_handle: slot %" PRId64
                                 " already holds a %s key; libssh serves one host key per type",
                                 i, ssh_key_type_to_char(ssh_key_type(hk->key[i])));
            }
        }
        if (sfk_key_describe(key, &info)) {
            ssh_key_free(key);
            return sfk_error(SFTPKIT_ERROR_BAD_KEY, "server_key_handle: key %" PRId64 " cannot be used", value);
        }
    }
    ssh_key_free(hk->key[index]);
    hk->key[index] = key;
    hk->handle[index] = value;
    sfk_value_slot(s, SFK_P_SERVER_KEY_HANDLE, index)->i = value;
    sfk_value_slot(s, SFK_P_SERVER_KEY_BITS, index)->i = info.bits;
    sfk_value_set_str(sfk_value_slot(s, SFK_P_SERVER_KEY_ALGORITHM, index), info.algorithm);
    sfk_value_set_str(sfk_value_slot(s, SFK_P_SERVER_KEY_FINGERPRINT_MD5, index), info.fingerprint_md5);
    sfk_value_set_str(sfk_value_slot(s, SFK_P_SERVER_KEY_FINGERPRINT_SHA1, index), info.fingerprint_sha1);
    sfk_key_info_clear(&info);
    return 0;
}

int sfk_host_keys_snapshot(sftpkit_server *s, ssh_key *out, int max)
{
    int n = 0;
    sfk_lock(s);
    int64_t count = s->values[SFK_P_SERVER_KEY_COUNT].i;
    for (int64_t i = 0; s->host_keys && i < count && i < SFK_MAX_HOST_KEYS && n < max; i++) {
        sfk_value *h = sfk_value_slot(s, SFK_P_SERVER_KEY_HANDLE, i);
        if (s->host_keys->key[i] && h && h->i == s->host_keys->handle[i] && h->i != 0)
            out[n++] = ssh_key_dup(s->host_keys->key[i]);
    }
    sfk_unlock(s);
    return n;
}

void sfk_host_keys_destroy(sftpkit_server *s)
{
    if (!s->host_keys)
        return;
    for (int i = 0; i < SFK_MAX_HOST_KEYS; i++)
        ssh_key_free(s->host_keys->key[i]);
    free(s->host_keys);
    s->host_keys = NULL;
}

int sfk_host_keys_external_setup(sftpkit_server *s, int64_t mode, int *holds)
{
    *holds = 0;
    if (mode == 3 || mode == 4) /* ecmDCAuth, ecmDCAuthJSON */
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                         "start: external_crypto_mode %" PRId64 " (DCAuth) is not supported; use 2 (generic "
                         "signing in on_external_sign) or 0/1",
                         mode);
    ssh_key keys[SFK_MAX_HOST_KEYS];
    int n = sfk_host_keys_snapshot(s, keys, SFK_MAX_HOST_KEYS), external = 0;
    for (int i = 0; i < n; i++) {
        external += sfk_ext_key_is_external(keys[i]);
        ssh_key_free(keys[i]);
    }
    if (external && mode != 2)
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                         "start: %d host key(s) are external keys (private half outside the process); set "
                         "external_crypto_mode = 2 and sign in on_external_sign",
                         external);
    if (!external)
        return 0;
    if (sfk_ext_provider_acquire())
        return sftpkit_last_error_code();
    *holds = 1;
    return 0;
}
