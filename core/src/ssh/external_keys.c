/* External host keys: the token key given to libssh, the registry the provider looks tokens up
 * in, and the signature round trip through on_external_sign. */
#include "ssh/external_keys.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "api/errors.h"
#include "api/events_gen.h"
#include "ssh/keys.h"

#define TOKEN_EC_RSA 24 /* a private value far below every curve order; magic + random */
#define TOKEN_ED25519 32
#define MAX_KEY_ID 256
static const unsigned char token_magic[8] = {'s', 'f', 'k', 'X', 't', 'o', 'k', 1};

struct sfk_ext_key {
    int kind;
    char id[MAX_KEY_ID + 1];
    char algorithm[32]; /* "ecdsa-sha2-nistp256", "ssh-rsa", "ssh-ed25519" */
    unsigned char token[TOKEN_ED25519];
    size_t token_len;
    unsigned char ed25519_pub[32];
    ssh_key pub;     /* the public key, to recognise copies */
    EVP_PKEY *check; /* the public key in the default provider: every signature is verified */
    struct sfk_ext_key *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static sfk_ext_key *reg;

/* ---- reading the public key blob ---------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t left;
} reader;

static int read_str(reader *r, const unsigned char **s, size_t *n)
{
    if (r->left < 4)
        return -1;
    size_t len = (size_t)r->p[0] << 24 | (size_t)r->p[1] << 16 | (size_t)r->p[2] << 8 | r->p[3];
    if (len > r->left - 4)
        return -1;
    *s = r->p + 4, *n = len;
    r->p += 4 + len, r->left -= 4 + len;
    return 0;
}

typedef struct {
    int kind;
    const unsigned char *a, *b; /* RSA: e, n; EC: curve name, point; Ed25519: public key */
    size_t alen, blen;
} pub_parts;

static int split_blob(const unsigned char *blob, size_t len, pub_parts *out)
{
    reader r = {blob, len};
    const unsigned char *type;
    size_t tlen;
    if (read_str(&r, &type, &tlen))
        return -1;
    if (tlen == 7 && !memcmp(type, "ssh-rsa", 7)) {
        out->kind = SFK_EXT_RSA;
        return read_str(&r, &out->a, &out->alen) || read_str(&r, &out->b, &out->blen) ? -1 : 0;
    }
    if (tlen == 11 && !memcmp(type, "ssh-ed25519", 11)) {
        out->kind = SFK_EXT_ED25519;
        return read_str(&r, &out->a, &out->alen) || out->alen != 32 ? -1 : 0;
    }
    if (tlen > 11 && !memcmp(type, "ecdsa-sha2-", 11)) {
        out->kind = SFK_EXT_EC;
        return read_str(&r, &out->a, &out->alen) || read_str(&r, &out->b, &out->blen) ? -1 : 0;
    }
    return -1;
}

static const char *curve_group(const pub_parts *pp)
{
    static const char *const map[][2] = {
        {"nistp256", "prime256v1"}, {"nistp384", "secp384r1"}, {"nistp521", "secp521r1"}};
    for (int i = 0; i < 3; i++)
        if (pp->alen == 8 && !memcmp(pp->a, map[i][0], 8))
            return map[i][1];
    return NULL;
}

/* ---- keys in the default provider --------------------------------------------------------------- */

/* An EVP_PKEY made by the default provider (explicitly: while the preference is on, an unqualified
 * fetch would reach the external-sign provider). With token, the private value is the token. */
static EVP_PKEY *build_pkey(const pub_parts *pp, const unsigned char *token, size_t token_len)
{
    if (pp->kind == SFK_EXT_ED25519)
        return token ? EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", "provider=default", token, token_len)
                     : EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", "provider=default", pp->a, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn[8] = {0};
    int nbn = 0, ok = bld != NULL;
    const char *name = pp->kind == SFK_EXT_RSA ? "RSA" : "EC";
    if (ok && pp->kind == SFK_EXT_RSA) {
        bn[nbn++] = BN_bin2bn(pp->b, (int)pp->blen, NULL);
        bn[nbn++] = BN_bin2bn(pp->a, (int)pp->alen, NULL);
        ok = bn[0] && bn[1] && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn[0]) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn[1]);
        if (ok && token) {
            /* d is the token; the CRT values must be present and non-zero for libssh's PEM reader,
             * and are never used (the provider signs, and without it the key fails safe). */
            static const char *const crt[] = {OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                                              OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                              OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
            bn[nbn++] = BN_bin2bn(token, (int)token_len, NULL);
            ok = bn[2] && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, bn[2]);
            for (int i = 0; ok && i < 5; i++) {
                bn[nbn] = BN_new();
                ok = bn[nbn] && BN_set_word(bn[nbn], (BN_ULONG)(3 + 2 * i)) &&
                     OSSL_PARAM_BLD_push_BN(bld, crt[i], bn[nbn]);
                nbn++;
            }
        }
    } else if (ok) {
        const char *group = curve_group(pp);
        ok = group && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pp->b, pp->blen);
        if (ok && token) {
            bn[nbn++] = BN_bin2bn(token, (int)token_len, NULL);
            ok = bn[0] && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn[0]);
        }
    }
    OSSL_PARAM *params = ok ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, name, "provider=default") : NULL;
    EVP_PKEY *pkey = NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, token ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < nbn; i++)
        BN_clear_free(bn[i]);
    return pkey;
}

/* ---- the token key's text ---------------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int failed;
} buf;

static void put_bytes(buf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2 + 64;
        unsigned char *grown = realloc(b->p, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->p = grown, b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u32(buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    put_bytes(b, x, 4);
}

static void put_str(buf *b, const void *data, size_t n)
{
    put_u32(b, (uint32_t)n);
    put_bytes(b, data, n);
}

/* OpenSSH's private-key format for Ed25519: libssh reads Ed25519 keys itself (the 32-byte seed is
 * the token, followed by the real public key) and hands the seed to OpenSSL when it signs. */
static char *ed25519_openssh_text(const unsigned char pub[32], const unsigned char token[32])
{
    buf blob = {0}, priv = {0}, all = {0};
    put_str(&blob, "ssh-ed25519", 11);
    put_str(&blob, pub, 32);
    uint32_t check;
    RAND_bytes((unsigned char *)&check, sizeof check);
    put_u32(&priv, check);
    put_u32(&priv, check);
    put_str(&priv, "ssh-ed25519", 11);
    put_str(&priv, pub, 32);
    unsigned char both[64];
    memcpy(both, token, 32);
    memcpy(both + 32, pub, 32);
    put_str(&priv, both, 64);
    OPENSSL_cleanse(both, sizeof both);
    put_str(&priv, "sftpkit external key", 20);
    for (unsigned char pad = 1; priv.len % 8; pad++)
        put_bytes(&priv, &pad, 1);
    put_bytes(&all, "openssh-key-v1", 15); /* with its NUL */
    put_str(&all, "none", 4);
    put_str(&all, "none", 4);
    put_str(&all, "", 0);
    put_u32(&all, 1);
    put_str(&all, blob.p, blob.len);
    put_str(&all, priv.p, priv.len);
    char *text = NULL;
    if (!blob.failed && !priv.failed && !all.failed) {
        size_t b64len = 4 * ((all.len + 2) / 3);
        unsigned char *b64 = malloc(b64len + 1);
        text = b64 ? malloc(b64len + b64len / 70 + 96) : NULL;
        if (text) {
            EVP_EncodeBlock(b64, all.p, (int)all.len);
            char *o = text + sprintf(text, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
            for (size_t i = 0; i < b64len; i += 70) {
                size_t n = b64len - i < 70 ? b64len - i : 70;
                memcpy(o, b64 + i, n);
                o += n;
                *o++ = '\n';
            }
            strcpy(o, "-----END OPENSSH PRIVATE KEY-----\n");
        }
        free(b64);
    }
    if (priv.p)
        OPENSSL_cleanse(priv.p, priv.len);
    free(blob.p), free(priv.p), free(all.p);
    return text;
}

/* PKCS#8 PEM for EC and RSA: the real public key, the token as the private value. */
static char *pkcs8_text(const pub_parts *pp, const unsigned char *token, size_t token_len)
{
    EVP_PKEY *pkey = build_pkey(pp, token, token_len);
    BIO *bio = pkey ? BIO_new(BIO_s_mem()) : NULL;
    char *text = NULL;
    if (bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0 && (text = malloc((size_t)n + 1))) {
            memcpy(text, data, (size_t)n);
            text[n] = '\0';
        }
    }
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return text;
}

/* ---- registry ---------------------------------------------------------------------------------- */

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > MAX_KEY_ID)
        return 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int sfk_ext_key_create(const char *public_line, const char *key_id, ssh_key *out)
{
    *out = NULL;
    if (!valid_id(key_id))
        return sfk_error(SFTPKIT_ERROR_INVALID_VALUE,
                         "key_import_external: the key id must be 1..%d printable characters", MAX_KEY_ID);
    ssh_key pub = sfk_key_parse_public_line(public_line);
    if (!pub)
        return sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_import_external: not an SSH public key line");
    /* the wire blob, from base64 (libssh 0.10 exports the blob itself only internally) */
    char *b64 = NULL;
    unsigned char *blob = NULL;
    int blen = -1;
    if (ssh_pki_export_pubkey_base64(pub, &b64) == SSH_OK && (blob = malloc(strlen(b64) + 1)))
        blen = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)strlen(b64));
    ssh_string_free_char(b64);
    pub_parts pp = {0};
    if (blen <= 0 || split_blob(blob, (size_t)blen, &pp)) {
        free(blob);
        ssh_key_free(pub);
        return sfk_error(SFTPKIT_ERROR_BAD_KEY,
                         "key_import_external: only ssh-ed25519, ssh-rsa and ecdsa-sha2-nistp256/384/521 keys can be "
                         "external");
    }
    sfk_ext_key *k = calloc(1, sizeof *k);
    int rc = 0;
    char *text = NULL;
    if (!k) {
        rc = sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    k->kind = pp.kind;
    strcpy(k->id, key_id);
    sfk_key_info info = {0};
    if (!sfk_key_describe(pub, &info)) {
        snprintf(k->algorithm, sizeof k->algorithm, "%s", info.algorithm);
        sfk_key_info_clear(&info);
    }
    k->token_len = pp.kind == SFK_EXT_ED25519 ? TOKEN_ED25519 : TOKEN_EC_RSA;
    memcpy(k->token, token_magic, sizeof token_magic);
    if (RAND_bytes(k->token + sizeof token_magic, (int)(k->token_len - sizeof token_magic)) != 1) {
        rc = sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_import_external: no random bytes for the token");
        goto out;
    }
    if (pp.kind == SFK_EXT_ED25519)
        memcpy(k->ed25519_pub, pp.a, 32);
    if (pp.kind == SFK_EXT_EC && !curve_group(&pp)) {
        rc = sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_import_external: unknown ECDSA curve");
        goto out;
    }
    k->check = build_pkey(&pp, NULL, 0);
    text = pp.kind == SFK_EXT_ED25519 ? ed25519_openssh_text(pp.a, k->token) : pkcs8_text(&pp, k->token, k->token_len);
    ssh_key token_key = NULL;
    if (!k->check || !text || ssh_pki_import_privkey_base64(text, NULL, NULL, NULL, &token_key) != SSH_OK) {
        rc = sfk_error(SFTPKIT_ERROR_BAD_KEY, "key_import_external: the public key cannot be used (%s)",
                       !k->check ? "OpenSSL refused it" : "no key could be built around it");
        goto out;
    }
    k->pub = pub, pub = NULL;
    pthread_mutex_lock(&reg_lock);
    k->next = reg;
    reg = k;
    pthread_mutex_unlock(&reg_lock);
    k = NULL;
    *out = token_key;
    rc = sfk_ok();
out:
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    if (k) {
        EVP_PKEY_free(k->check);
        free(k);
    }
    free(blob);
    ssh_key_free(pub);
    return rc;
}

const sfk_ext_key *sfk_ext_key_by_token(const unsigned char *token, size_t len)
{
    if (len < sizeof token_magic || memcmp(token, token_magic, sizeof token_magic))
        return NULL; /* the common case (every ordinary key): no lock, no search */
    const sfk_ext_key *found = NULL;
    pthread_mutex_lock(&reg_lock);
    for (sfk_ext_key *k = reg; k && !found; k = k->next)
        if (k->token_len == len && CRYPTO_memcmp(k->token, token, len) == 0)
            found = k;
    pthread_mutex_unlock(&reg_lock);
    return found;
}

int sfk_ext_key_kind(const sfk_ext_key *k)
{
    return k->kind;
}

const unsigned char *sfk_ext_key_ed25519_public(const sfk_ext_key *k)
{
    return k->ed25519_pub;
}

int sfk_ext_key_is_external(ssh_key key)
{
    int found = 0;
    pthread_mutex_lock(&reg_lock);
    for (sfk_ext_key *k = reg; k && !found; k = k->next)
        found = ssh_key_cmp(k->pub, key, SSH_KEY_CMP_PUBLIC) == 0;
    pthread_mutex_unlock(&reg_lock);
    return found;
}

/* ---- signing ------------------------------------------------------------------------------------ */

static _Thread_local sftpkit_server *sign_server;
static _Thread_local int64_t sign_connection;
static _Thread_local char sign_failure[360];
static _Thread_local int sign_failed;

void sfk_ext_sign_set_thread(sftpkit_server *s, int64_t connection_id)
{
    sign_server = s, sign_connection = connection_id;
    sign_failed = 0;
}

const char *sfk_ext_sign_take_failure(void)
{
    if (!sign_failed)
        return NULL;
    sign_failed = 0;
    return sign_failure;
}

static int fail(const sfk_ext_key *k, const char *why)
{
    snprintf(sign_failure, sizeof sign_failure, "external signing with host key \"%.64s\" failed: %.200s", k->id, why);
    sign_failed = 1;
    ERR_raise_data(ERR_LIB_PROV, ERR_R_OPERATION_FAIL, "%s", sign_failure);
    return 0;
}

static char *to_hex(const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[2 * i] = digits[p[i] >> 4], s[2 * i + 1] = digits[p[i] & 15];
    s[2 * n] = '\0';
    return s;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Hex (either case) to bytes; -1 when it is not hex of at most max bytes. */
static long from_hex(const char *s, unsigned char *out, size_t max)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

static int verify(const sfk_ext_key *k, const char *hash_name, const unsigned char *tbs, size_t tbslen,
                  const unsigned char *sig, size_t siglen)
{
    int ok = 0;
    if (k->kind == SFK_EXT_ED25519) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        ok = m && EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, "provider=default", k->check, NULL) == 1 &&
             EVP_DigestVerify(m, sig, siglen, tbs, tbslen) == 1;
        EVP_MD_CTX_free(m);
    } else {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k->check, "provider=default");
        EVP_MD *md = EVP_MD_fetch(NULL, hash_name, "provider=default");
        ok = c && md && EVP_PKEY_verify_init(c) == 1 &&
             (k->kind != SFK_EXT_RSA || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1) &&
             EVP_PKEY_CTX_set_signature_md(c, md) == 1 && EVP_PKEY_verify(c, sig, siglen, tbs, tbslen) == 1;
        EVP_MD_free(md);
        EVP_PKEY_CTX_free(c);
    }
    ERR_clear_error(); /* a refused signature is reported by us, not left on OpenSSL's queue */
    return ok;
}

int sfk_ext_key_sign(const sfk_ext_key *k, const char *hash_name, const unsigned char *tbs, size_t tbslen,
                     unsigned char *sig, size_t *siglen, size_t sigsize)
{
    sftpkit_server *s = sign_server;
    if (!s)
        return fail(k, "no server is signing on this thread (external keys sign only during a key exchange)");
    char op[MAX_KEY_ID + 32], *data = to_hex(tbs, tbslen), *pars = NULL, *signed_data = NULL;
    snprintf(op, sizeof op, "kex-host-signature:%s", k->id);
    /* pars names the signature scheme and output format (hex, like every binary parameter) */
    const char *scheme = k->kind == SFK_EXT_EC ? "ecdsa-der" : k->kind == SFK_EXT_RSA ? "rsa-pkcs1v15" : "ed25519";
    char pars_text[96];
    snprintf(pars_text, sizeof pars_text, "%s;%s", k->algorithm, scheme);
    pars = to_hex((const unsigned char *)pars_text, strlen(pars_text));
    if (!data || !pars) {
        free(data), free(pars);
        return fail(k, "out of memory");
    }
    int ran = sfk_fire_on_external_sign(s, sign_connection, op, hash_name ? hash_name : "", pars, data, &signed_data);
    free(data), free(pars);
    int ok = 0;
    unsigned char out[2048];
    long n = -1;
    if (!ran)
        fail(k, "no on_external_sign handler is installed");
    else if (!signed_data || !*signed_data)
        fail(k, "the on_external_sign handler returned no signed_data");
    else if ((n = from_hex(signed_data, out, sizeof out)) <= 0)
        fail(k, "signed_data is not hex (or is longer than any signature)");
    else if (!verify(k, hash_name, tbs, tbslen, out, (size_t)n))
        fail(k, k->kind == SFK_EXT_EC    ? "signed_data is not a valid DER ECDSA signature by this key"
                : k->kind == SFK_EXT_RSA ? "signed_data is not a valid PKCS#1 v1.5 signature by this key"
                                         : "signed_data is not a valid Ed25519 signature by this key");
    else if ((size_t)n > sigsize)
        fail(k, "signed_data is longer than a signature of this key");
    else {
        memcpy(sig, out, (size_t)n);
        *siglen = (size_t)n;
        ok = 1;
    }
    free(signed_data);
    return ok;
}
