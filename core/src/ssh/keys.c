/* The sftpkit_key object: generate, import, export, fingerprints, and the process-wide handle
 * registry that lets properties such as server_key_handle refer to keys by number. */
#include "ssh/keys.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api/errors.h"
#include "ssh/external_keys.h"

struct sftpkit_key {
    int64_t handle;
    ssh_key key;  /* NULL until generated or imported */
    int external; /* the private half lives outside the process (external_keys.h) */
    struct sftpkit_key *next;
};

/* Registry of live keys, so a handle can be resolved; handles are never reused. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static sftpkit_key *registry;
static int64_t next_handle = 1;

SFTPKIT_API sftpkit_key *sftpkit_key_new(void)
{
    sftpkit_key *k = calloc(1, sizeof *k);
    if (!k) {
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&registry_lock);
    k->handle = next_handle++;
    k->next = registry;
    registry = k;
    pthread_mutex_unlock(&registry_lock);
    sfk_ok();
    return k;
}

SFTPKIT_API void sftpkit_key_free(sftpkit_key *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&registry_lock);
    for (sftpkit_key **p = &registry; *p; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    ssh_key_free(k->key);
    free(k);
}

ssh_key sfk_key_dup_by_handle(int64_t handle)
{
    ssh_key copy = NULL;
    pthread_mutex_lock(&registry_lock);
    for (sftpkit_key *k = registry; k; k = k->next)
        if (k->handle == handle && k->key) {
            copy = ssh_key_dup(k->key);
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    return copy;
}

/* Replaces k's key (under the registry lock: a concurrent dup by handle sees old or new). */
static void set_key_kind(sftpkit_key *k, ssh_key key, int external)
{
    pthread_mutex_lock(&registry_lock);
    ssh_key old = k->key;
    k->key = key;
    k->external = external;
    pthread_mutex_unlock(&registry_lock);
    ssh_key_free(old);
}

static void set_key(sftpkit_key *k, ssh_key key)
{
    set_key_kind(k, key, 0);
}

SFTPKIT_API int sftpkit_key_import_external(sftpkit_key *k, const char *public_key, const char *key_id)
{
    if (!k || !public_key || !key_id)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "key_import_external: NULL %s",
                         !k            ? "key"
                         : !public_key ? "public_key"
                                       : "key_id");
    ssh_key key = NULL;
    int rc = sfk_ext_key_create(public_key, key_id, &key);
    if (rc)
        return rc;
    set_key_kind(k, key, 1);
    return sfk_ok();
}

SFTPKIT_API int sftpkit_key_generate(sftpkit_key *k, const char *algorithm, int bits)
{
    if (!k || !algorithm)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "key_generate: NULL %s", k ? "algorithm" : "key");
    enum ssh_keytypes_e type;
    int param = bits;
    if (!strcmp(algorithm, "ssh-ed25519")) {
        if (bits != 0 && bits != 256)
            return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "key_generate: ssh-ed25519 keys are 256 bits, not %d", bits);
        type = SSH_KEYTYPE_ED25519, param = 0;
    } else if (!strcmp(algorithm, "ssh-rsa") || !strcmp(algorithm, "rsa-sha2-256") ||
               !strcmp(algorithm, "rsa-sha2-512")) {
        if (bits == 0)
            param = 3072;
        else if (bits < 2048 || bits > 8192)
            return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "key_generate: RSA bits %d is outside 2048..8192", bits);
        type = SSH_KEYTYPE_RSA;
    } else {
        static const struct {
            const char *name;
            enum ssh_keytypes_e type;
            int bits;
        } curves[] = {{"ecdsa-sha2-nistp256", SSH_KEYTYPE_ECDSA_P256, 256},
                      {"ecdsa-sha2-nistp384", SSH_KEYTYPE_ECDSA_P384, 384},
                      {"ecdsa-sha2-nistp521", SSH_KEYTYPE_ECDSA_P521, 521}};
        int found = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(algorithm, curves[i].name))
                found = i;
        if (found < 0)
            return sfk_error(
                SFTPKIT_ERROR_INVALID_VALUE,
                "key_generate: unknown algorithm \"%s\" (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521)",
                algorithm);
        if (bits != 0 && bits != curves[found].bits)
            return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "key_generate: %s keys are %d bits, not %d", algorithm,
                             curves[found].bits, bits);
        type = curves[found].type, param = curves[found].bits;
    }
    ssh_key key = NULL;
    if (ssh_pki_generate(type, param, &key) != SSH_OK || !key)
        return sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_generate: %s key generation failed", algorithm);
    set_key(k, key);
    return sfk_ok();
}

/* The passphrase callback for imports without a passphrase: refuse. Without a callback, libssh
 * hands an encrypted PEM key to OpenSSL's default, which prompts on the controlling terminal and
 * blocks the caller (a server started from a shell would hang at "Enter PEM pass phrase:"). */
static int no_passphrase(const char *prompt, char *buf, size_t len, int echo, int verify, void *userdata)
{
    (void)prompt, (void)echo, (void)verify, (void)userdata;
    if (len)
        buf[0] = '\0';
    return -1;
}

/* Imports text that is a private key (OpenSSH or PEM, maybe encrypted) or a public key line. */
static int import_text(sftpkit_key *k, const char *text, const char *passphrase, const char *what)
{
    ssh_key key = NULL;
    const char *pass = passphrase && *passphrase ? passphrase : NULL;
    if (ssh_pki_import_privkey_base64(text, pass, no_passphrase, NULL, &key) == SSH_OK && key) {
        set_key(k, key);
        return sfk_ok();
    }
    if (strstr(text, "PRIVATE KEY"))
        return sfk_error(SFTPKIT_ERROR_BAD_KEY, "%s: the private key could not be read (%s)", what,
                         pass ? "wrong passphrase or damaged key" : "encrypted without a passphrase, or damaged");
    key = sfk_key_parse_public_line(text);
    if (!key)
        return sfk_error(SFTPKIT_ERROR_BAD_KEY, "%s: not an SSH private key or public key line", what);
    set_key(k, key);
    return sfk_ok();
}

SFTPKIT_API int sftpkit_key_import_bytes(sftpkit_key *k, const uint8_t *data, size_t len, const char *passphrase)
{
    if (!k || (!data && len))
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "key_import_bytes: NULL %s", k ? "data" : "key");
    if (len == 0 || memchr(data, '\0', len))
        return sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_import_bytes: empty or binary data is not a key");
    char *text = malloc(len + 1);
    if (!text)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    memcpy(text, data, len);
    text[len] = '\0';
    int rc = import_text(k, text, passphrase, "key_import_bytes");
    free(text);
    return rc;
}

SFTPKIT_API int sftpkit_key_import_file(sftpkit_key *k, const char *path, const char *passphrase)
{
    if (!k || !path)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "key_import_file: NULL %s", k ? "path" : "key");
    FILE *f = fopen(path, "rb");
    if (!f)
        return sfk_error(SFTPKIT_ERROR_IO, "key_import_file: %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t cap = 0, len = 0;
    int rc = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *grown = realloc(text, cap = cap * 2 + 8192);
            if (!grown) {
                rc = sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
                break;
            }
            text = grown;
        }
        size_t n = fread(text + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
        if (len > (1u << 20)) {
            rc = sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_import_file: %s is too large to be a key", path);
            break;
        }
    }
    fclose(f);
    if (!rc) {
        char what[300];
        snprintf(what, sizeof what, "key_import_file(%s)", path);
        if (len == 0 || memchr(text, '\0', len))
            rc = sfk_error(SFTPKIT_ERROR_BAD_KEY, "%s: empty or binary data is not a key", what);
        else
            text[len] = '\0', rc = import_text(k, text, passphrase, what);
    }
    free(text);
    return rc;
}

SFTPKIT_API int sftpkit_key_export_public(const sftpkit_key *k, char **line)
{
    if (!k || !line)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "key_export_public: NULL %s", k ? "out" : "key");
    if (!k->key)
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "key_export_public: the key is empty (generate or import first)");
    char *b64 = NULL;
    if (ssh_pki_export_pubkey_base64(k->key, &b64) != SSH_OK)
        return sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_export_public: the key cannot be exported");
    sfk_key_info info = {0};
    sfk_key_describe(k->key, &info);
    size_t n = strlen(b64) + strlen(info.algorithm ? info.algorithm : "") + 32;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s %s sftpkit", info.algorithm ? info.algorithm : "", b64);
    ssh_string_free_char(b64);
    sfk_key_info_clear(&info);
    if (!out)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    *line = out;
    return sfk_ok();
}

SFTPKIT_API int sftpkit_key_export_private(const sftpkit_key *k, const char *passphrase, char **text)
{
    if (!k || !text)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "key_export_private: NULL %s", k ? "out" : "key");
    if (!k->key || !ssh_key_is_private(k->key) || k->external)
        return sfk_error(SFTPKIT_ERROR_NO_PRIVATE_KEY, "key_export_private: the key has no private part%s",
                         k->external ? " in this process (an external key)" : "");
    char *b64 = NULL;
    if (ssh_pki_export_privkey_base64(k->key, passphrase && *passphrase ? passphrase : NULL, NULL, NULL, &b64) !=
        SSH_OK) {
        /* libssh 0.10.6 reads an RSA key in OpenSSH's private-key format without the CRT values
         * its PEM writer needs: such a key signs (serves as a host key) but cannot be written. */
        if (ssh_key_type(k->key) == SSH_KEYTYPE_RSA)
            return sfk_error(SFTPKIT_ERROR_BAD_KEY,
                             "key_export_private: libssh 0.10.6 cannot write an RSA key that was read from OpenSSH's "
                             "private-key format (PEM/PKCS#8 RSA keys and generated keys export); keep the original "
                             "file");
        return sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_export_private: the key cannot be exported");
    }
    *text = strdup(b64);
    ssh_string_free_char(b64);
    return *text ? sfk_ok() : sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
}

SFTPKIT_API int sftpkit_key_get_handle(const sftpkit_key *k, int64_t *out)
{
    if (!k || !out)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "key_get_handle: NULL %s", k ? "out" : "key");
    *out = k->handle;
    return sfk_ok();
}

SFTPKIT_API int sftpkit_key_get_info(const sftpkit_key *k, char **algorithm, int *bits, char **fingerprint_sha256)
{
    if (!k)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "key_get_info: NULL key");
    if (!k->key)
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "key_get_info: the key is empty (generate or import first)");
    sfk_key_info info = {0};
    if (sfk_key_describe(k->key, &info))
        return sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_get_info: the key cannot be described");
    if (algorithm)
        *algorithm = info.algorithm, info.algorithm = NULL;
    if (bits)
        *bits = info.bits;
    if (fingerprint_sha256)
        *fingerprint_sha256 = info.fingerprint_sha256, info.fingerprint_sha256 = NULL;
    sfk_key_info_clear(&info);
    return sfk_ok();
}

/* ---- facts about keys ------------------------------------------------------------------------ */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RSA modulus size from the public blob (string "ssh-rsa", mpint e, mpint n): libssh 0.10 has
 * no key-size call, and the blob is only public as base64. */
static int rsa_bits(ssh_key key)
{
    char *b64 = NULL;
    if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
        return 0;
    size_t b64len = strlen(b64);
    unsigned char *p = malloc(b64len);
    int len = p ? EVP_DecodeBlock(p, (const unsigned char *)b64, (int)b64len) : -1;
    ssh_string_free_char(b64);
    int bits = 0;
    size_t at = 0;
    for (int field = 0; len > 0 && field < 3 && at + 4 <= (size_t)len; field++) {
        uint32_t n = be32(p + at);
        at += 4;
        if (n > (size_t)len - at)
            break;
        if (field == 2) {
            const unsigned char *m = p + at;
            while (n && *m == 0)
                m++, n--;
            bits = (int)(n * 8);
            for (unsigned char top = n ? *m : 0x80; !(top & 0x80); top <<= 1)
                bits--;
        }
        at += n;
    }
    free(p);
    return bits;
}

static char *fingerprint(ssh_key key, enum ssh_publickey_hash_type type)
{
    unsigned char *hash = NULL;
    size_t hlen = 0;
    if (ssh_get_publickey_hash(key, type, &hash, &hlen) != SSH_OK)
        return NULL;
    char *text = ssh_get_fingerprint_hash(type, hash, hlen);
    ssh_clean_pubkey_hash(&hash);
    char *copy = text ? strdup(text) : NULL;
    ssh_string_free_char(text);
    return copy;
}

int sfk_key_describe(ssh_key key, sfk_key_info *info)
{
    memset(info, 0, sizeof *info);
    enum ssh_keytypes_e type = ssh_key_type(key);
    const char *name = ssh_key_type_to_char(type);
    switch (type) {
    case SSH_KEYTYPE_ED25519:
        info->bits = 256;
        break;
    case SSH_KEYTYPE_RSA:
        info->bits = rsa_bits(key);
        break;
    case SSH_KEYTYPE_ECDSA_P256:
        info->bits = 256;
        break;
    case SSH_KEYTYPE_ECDSA_P384:
        info->bits = 384;
        break;
    case SSH_KEYTYPE_ECDSA_P521:
        info->bits = 521;
        break;
    default:
        break;
    }
    if (type == SSH_KEYTYPE_ECDSA_P256 || type == SSH_KEYTYPE_ECDSA_P384 || type == SSH_KEYTYPE_ECDSA_P521)
        name = ssh_pki_key_ecdsa_name(key);
    info->algorithm = strdup(name ? name : "unknown");
    info->fingerprint_md5 = fingerprint(key, SSH_PUBLICKEY_HASH_MD5);
    info->fingerprint_sha1 = fingerprint(key, SSH_PUBLICKEY_HASH_SHA1);
    info->fingerprint_sha256 = fingerprint(key, SSH_PUBLICKEY_HASH_SHA256);
    if (!info->algorithm || !info->fingerprint_sha256) {
        sfk_key_info_clear(info);
        return -1;
    }
    return 0;
}

void sfk_key_info_clear(sfk_key_info *info)
{
    free(info->algorithm);
    free(info->fingerprint_md5);
    free(info->fingerprint_sha1);
    free(info->fingerprint_sha256);
    memset(info, 0, sizeof *info);
}

ssh_key sfk_key_parse_public_line(const char *line)
{
    /* Find "<type> <base64>" where type is a known key type; options may come first. */
    char *copy = strdup(line), *save = NULL, *prev = NULL;
    ssh_key key = NULL;
    if (!copy)
        return NULL;
    for (char *tok = strtok_r(copy, " \t\r\n", &save); tok && !key; tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (prev) {
            enum ssh_keytypes_e type = ssh_key_type_from_name(prev);
            if (type != SSH_KEYTYPE_UNKNOWN && ssh_pki_import_pubkey_base64(tok, type, &key) != SSH_OK)
                key = NULL;
            /* libssh imports some degenerate blobs into keys that are no usable key (found by
             * fuzz_keyline): an all-zero "rsa" key it cannot fingerprint or export again, and a
             * certificate around an empty RSA key that exports but equals nothing, not even
             * itself, so it could never match a client's key */
            char *back = NULL;
            if (key && (ssh_pki_export_pubkey_base64(key, &back) != SSH_OK ||
                        ssh_key_cmp(key, key, SSH_KEY_CMP_PUBLIC) != 0)) {
                ssh_key_free(key);
                key = NULL;
            }
            ssh_string_free_char(back);
        }
        prev = tok;
    }
    free(copy);
    return key;
}
