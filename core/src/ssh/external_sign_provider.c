/* The external-sign OpenSSL provider (see external_sign_provider.h for why it exists).
 *
 * Design: a wrapper around the default provider. At load it asks the default provider for its
 * own EC/RSA/ED25519 key-management and ECDSA/RSA/ED25519 signature dispatch tables, and offers
 * exactly the same set of entry points under the same algorithm names. Every object of ours
 * (key, key-generation context, signature context) holds the default provider's object, and every
 * entry point calls the default provider's function with it: the same code runs on the same data,
 * so for ordinary keys nothing changes but one indirection (and, for keys OpenSSL has to move
 * between providers, one export/import). The only difference: a key whose private value is an
 * external key's token is marked at import, and signing with it asks the application instead.
 * OpenSSL refuses incomplete function sets, which is another reason to mirror the default's. */
#include "ssh/external_sign_provider.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include "api/errors.h"
#include "ssh/external_keys.h"

#define PROPS "provider=" SFK_EXT_PROVIDER_NAME
#define KM_MAX (OSSL_FUNC_KEYMGMT_DUP + 1)
#define SIG_MAX (OSSL_FUNC_SIGNATURE_SETTABLE_CTX_MD_PARAMS + 1)

typedef void (*fnptr)(void);

typedef struct {
    int kind;                         /* SFK_EXT_* */
    const char *keymgmt, *sig;        /* the names we look for in the default provider */
    const char *km_names, *sig_names; /* the default's full name lists ("EC:id-ecPublicKey:...") */
    fnptr km[KM_MAX], s[SIG_MAX];     /* the default provider's functions by dispatch id */
    OSSL_DISPATCH km_table[KM_MAX + 1], sig_table[SIG_MAX + 1];
} alg_t;

static alg_t algs[3] = {
    {SFK_EXT_EC, "EC", "ECDSA", NULL, NULL, {0}, {0}, {{0}}, {{0}}},
    {SFK_EXT_RSA, "RSA", "RSA", NULL, NULL, {0}, {0}, {{0}}, {{0}}},
    {SFK_EXT_ED25519, "ED25519", "ED25519", NULL, NULL, {0}, {0}, {{0}}, {{0}}},
};
static void *dctx; /* the default provider's provider context */
static OSSL_ALGORITHM km_algs[4], sig_algs[4];

#define KM(a, ID, name) ((OSSL_FUNC_keymgmt_##name##_fn *)(a)->km[OSSL_FUNC_KEYMGMT_##ID])
#define SG(a, ID, name) ((OSSL_FUNC_signature_##name##_fn *)(a)->s[OSSL_FUNC_SIGNATURE_##ID])

/* ---- keys -------------------------------------------------------------------------------------- */

typedef struct {
    alg_t *alg;
    void *inner;            /* the default provider's key */
    const sfk_ext_key *ext; /* set when the private value is an external key's token */
} wkey;

typedef struct {
    alg_t *alg;
    void *inner;
} wgen;

static wkey *wrap_key(alg_t *a, void *inner, const sfk_ext_key *ext)
{
    if (!inner)
        return NULL;
    wkey *k = OPENSSL_zalloc(sizeof *k);
    if (!k) {
        KM(a, FREE, free)(inner);
        return NULL;
    }
    k->alg = a, k->inner = inner, k->ext = ext;
    return k;
}

static void km_free(void *kd)
{
    wkey *k = kd;
    if (!k)
        return;
    KM(k->alg, FREE, free)(k->inner);
    OPENSSL_free(k);
}

static void *km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    wgen *g = genctx;
    return wrap_key(g->alg, KM(g->alg, GEN, gen)(g->inner, cb, cbarg), NULL);
}

static int km_gen_set_template(void *genctx, void *templ)
{
    wgen *g = genctx;
    wkey *t = templ;
    return KM(g->alg, GEN_SET_TEMPLATE, gen_set_template)(g->inner, t ? t->inner : NULL);
}

static int km_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    wgen *g = genctx;
    return KM(g->alg, GEN_SET_PARAMS, gen_set_params)(g->inner, params);
}

static void km_gen_cleanup(void *genctx)
{
    wgen *g = genctx;
    if (!g)
        return;
    KM(g->alg, GEN_CLEANUP, gen_cleanup)(g->inner);
    OPENSSL_free(g);
}

static int km_get_params(void *kd, OSSL_PARAM params[])
{
    wkey *k = kd;
    return KM(k->alg, GET_PARAMS, get_params)(k->inner, params);
}

static int km_set_params(void *kd, const OSSL_PARAM params[])
{
    wkey *k = kd;
    return KM(k->alg, SET_PARAMS, set_params)(k->inner, params);
}

static int km_has(const void *kd, int selection)
{
    const wkey *k = kd;
    return k ? KM(k->alg, HAS, has)(k->inner, selection) : 0; /* the default's answer for NULL */
}

static int km_validate(const void *kd, int selection, int checktype)
{
    const wkey *k = kd;
    return KM(k->alg, VALIDATE, validate)(k->inner, selection, checktype);
}

static int km_match(const void *kd1, const void *kd2, int selection)
{
    const wkey *a = kd1, *b = kd2;
    return KM(a->alg, MATCH, match)(a->inner, b->inner, selection);
}

/* The external key whose token is the private value in params, or NULL. */
static const sfk_ext_key *find_token(const alg_t *a, const OSSL_PARAM params[])
{
    const char *name = a->kind == SFK_EXT_RSA ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
    const OSSL_PARAM *p = params ? OSSL_PARAM_locate_const(params, name) : NULL;
    if (!p)
        return NULL;
    if (p->data_type == OSSL_PARAM_OCTET_STRING)
        return sfk_ext_key_by_token(p->data, p->data_size);
    BIGNUM *bn = NULL;
    const sfk_ext_key *found = NULL;
    unsigned char buf[64];
    if (p->data_type == OSSL_PARAM_UNSIGNED_INTEGER && OSSL_PARAM_get_BN(p, &bn) && BN_num_bytes(bn) <= 64) {
        int n = BN_bn2bin(bn, buf);
        found = sfk_ext_key_by_token(buf, (size_t)n);
        OPENSSL_cleanse(buf, sizeof buf);
    }
    BN_clear_free(bn);
    return found;
}

static int km_import(void *kd, int selection, const OSSL_PARAM params[])
{
    wkey *k = kd;
    const sfk_ext_key *ext = (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ? find_token(k->alg, params) : NULL;
    if (!ext || k->alg->kind != SFK_EXT_ED25519) {
        int ok = KM(k->alg, IMPORT, import)(k->inner, selection, params);
        if (ok)
            k->ext = ext;
        return ok;
    }
    /* Ed25519 arrives as the token alone (libssh signs with EVP_PKEY_new_raw_private_key): give
     * the default key the real public key instead of the one it would derive from the token. */
    size_t n = 0;
    while (params[n].key)
        n++;
    OSSL_PARAM *patched = OPENSSL_zalloc((n + 2) * sizeof *patched);
    if (!patched)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(params[i].key, OSSL_PKEY_PARAM_PUB_KEY))
            patched[m++] = params[i];
    patched[m++] =
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)sfk_ext_key_ed25519_public(ext), 32);
    patched[m] = OSSL_PARAM_construct_end();
    int ok = KM(k->alg, IMPORT, import)(k->inner, selection | OSSL_KEYMGMT_SELECT_PUBLIC_KEY, patched);
    OPENSSL_free(patched);
    if (ok)
        k->ext = ext;
    return ok;
}

static int km_export(void *kd, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    wkey *k = kd;
    return KM(k->alg, EXPORT, export)(k->inner, selection, cb, cbarg);
}

static void *km_dup(const void *kd, int selection)
{
    const wkey *k = kd;
    return wrap_key(k->alg, KM(k->alg, DUP, dup)(k->inner, selection), k->ext);
}

/* ---- signatures -------------------------------------------------------------------------------- */

typedef struct {
    alg_t *alg;
    void *inner;    /* the default provider's signature context */
    wkey *key;      /* the key of the current operation */
    int external;   /* signing with an external key */
    EVP_MD_CTX *md; /* external digest-sign (ECDSA, RSA): the data's digest so far */
    char hash[16];  /* "SHA256", ... for the application */
} wsig;

static void sig_freectx(void *ctx)
{
    wsig *c = ctx;
    if (!c)
        return;
    SG(c->alg, FREECTX, freectx)(c->inner);
    EVP_MD_CTX_free(c->md);
    OPENSSL_free(c);
}

static void *sig_dupctx(void *ctx)
{
    wsig *c = ctx, *d = OPENSSL_zalloc(sizeof *d);
    if (!d)
        return NULL;
    *d = *c;
    d->md = NULL;
    d->inner = SG(c->alg, DUPCTX, dupctx)(c->inner);
    if (!d->inner || (c->md && (!(d->md = EVP_MD_CTX_new()) || !EVP_MD_CTX_copy_ex(d->md, c->md)))) {
        if (d->inner)
            SG(c->alg, FREECTX, freectx)(d->inner);
        EVP_MD_CTX_free(d->md);
        OPENSSL_free(d);
        return NULL;
    }
    return d;
}

/* Starts an operation: which key, and is it a signature by an external key. */
static void *begin(wsig *c, void *provkey, int signing)
{
    if (provkey)
        c->key = provkey;
    c->external = signing && c->key && c->key->ext;
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
    c->hash[0] = '\0';
    return c->key ? c->key->inner : NULL;
}

/* The application-facing name of a digest. */
static int hash_name(const EVP_MD *md, char out[16])
{
    static const char *const names[] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (EVP_MD_is_a(md, names[i])) {
            strcpy(out, names[i]);
            return 1;
        }
    return 0;
}

static int sig_sign_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
    wsig *c = ctx;
    return SG(c->alg, SIGN_INIT, sign_init)(c->inner, begin(c, provkey, 1), params);
}

/* The digest name set on the context ("digest" parameter), for sign() with a ready digest. */
static void ctx_digest_name(wsig *c, size_t dlen)
{
    char name[64] = "";
    OSSL_PARAM q[] = {OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, name, sizeof name),
                      OSSL_PARAM_construct_end()};
    EVP_MD *md = NULL;
    if (c->alg->s[OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS] && SG(c->alg, GET_CTX_PARAMS, get_ctx_params)(c->inner, q) &&
        name[0])
        md = EVP_MD_fetch(NULL, name, "provider=default");
    if (!md || !hash_name(md, c->hash))
        strcpy(c->hash, dlen == 20   ? "SHA1"
                        : dlen == 28 ? "SHA224"
                        : dlen == 48 ? "SHA384"
                        : dlen == 64 ? "SHA512"
                                     : "SHA256");
    EVP_MD_free(md);
}

/* RSA external signatures are PKCS#1 v1.5 only: refuse any other padding set on the context. */
static int padding_ok(wsig *c)
{
    if (c->alg->kind != SFK_EXT_RSA || !c->alg->s[OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS])
        return 1;
    int pad = RSA_PKCS1_PADDING;
    OSSL_PARAM q[] = {OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad), OSSL_PARAM_construct_end()};
    SG(c->alg, GET_CTX_PARAMS, get_ctx_params)(c->inner, q);
    return pad == RSA_PKCS1_PADDING;
}

static int sign_external(wsig *c, const char *hash, const unsigned char *tbs, size_t tbslen, unsigned char *sig,
                         size_t *siglen, size_t sigsize)
{
    if (!padding_ok(c)) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_UNSUPPORTED, "external keys sign with PKCS#1 v1.5 padding only");
        return 0;
    }
    return sfk_ext_key_sign(c->key->ext, hash, tbs, tbslen, sig, siglen, sigsize);
}

static int sig_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
                    size_t tbslen)
{
    wsig *c = ctx;
    if (!c->external || !sig) /* a size query is answered by the default from the public key */
        return SG(c->alg, SIGN, sign)(c->inner, sig, siglen, sigsize, tbs, tbslen);
    if (c->alg->kind == SFK_EXT_ED25519)
        return sign_external(c, NULL, tbs, tbslen, sig, siglen, sigsize);
    ctx_digest_name(c, tbslen);
    return sign_external(c, c->hash, tbs, tbslen, sig, siglen, sigsize);
}

static int sig_verify_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
    wsig *c = ctx;
    return SG(c->alg, VERIFY_INIT, verify_init)(c->inner, begin(c, provkey, 0), params);
}

static int sig_verify(void *ctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs, size_t tbslen)
{
    wsig *c = ctx;
    return SG(c->alg, VERIFY, verify)(c->inner, sig, siglen, tbs, tbslen);
}

static int sig_verify_recover_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
    wsig *c = ctx;
    return SG(c->alg, VERIFY_RECOVER_INIT, verify_recover_init)(c->inner, begin(c, provkey, 0), params);
}

static int sig_verify_recover(void *ctx, unsigned char *rout, size_t *routlen, size_t routsize,
                              const unsigned char *sig, size_t siglen)
{
    wsig *c = ctx;
    return SG(c->alg, VERIFY_RECOVER, verify_recover)(c->inner, rout, routlen, routsize, sig, siglen);
}

static int sig_digest_sign_init(void *ctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
    wsig *c = ctx;
    void *inner_key = begin(c, provkey, 1);
    if (!SG(c->alg, DIGEST_SIGN_INIT, digest_sign_init)(c->inner, mdname, inner_key, params))
        return 0;
    if (!c->external || c->alg->kind == SFK_EXT_ED25519)
        return 1;
    /* ECDSA/RSA: we hash the data ourselves and hand the digest to the application. */
    EVP_MD *md = EVP_MD_fetch(NULL, mdname && *mdname ? mdname : "SHA256", "provider=default");
    int ok = md && hash_name(md, c->hash) && (c->md = EVP_MD_CTX_new()) && EVP_DigestInit_ex(c->md, md, NULL);
    EVP_MD_free(md);
    if (!ok)
        ERR_raise_data(ERR_LIB_PROV, ERR_R_UNSUPPORTED, "external signing: digest %s is not supported",
                       mdname ? mdname : "(none)");
    return ok;
}

static int sig_digest_sign_update(void *ctx, const unsigned char *data, size_t len)
{
    wsig *c = ctx;
    if (c->external && c->md)
        return EVP_DigestUpdate(c->md, data, len);
    return SG(c->alg, DIGEST_SIGN_UPDATE, digest_sign_update)(c->inner, data, len);
}

static int sig_digest_sign_final(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    wsig *c = ctx;
    if (!c->external || !c->md || !sig)
        return SG(c->alg, DIGEST_SIGN_FINAL, digest_sign_final)(c->inner, sig, siglen, sigsize);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!EVP_DigestFinal_ex(c->md, digest, &dlen))
        return 0;
    return sign_external(c, c->hash, digest, dlen, sig, siglen, sigsize);
}

static int sig_digest_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
                           size_t tbslen)
{
    wsig *c = ctx;
    if (!c->external || !sig)
        return SG(c->alg, DIGEST_SIGN, digest_sign)(c->inner, sig, siglen, sigsize, tbs, tbslen);
    if (!c->md) /* Ed25519: the raw message */
        return sign_external(c, NULL, tbs, tbslen, sig, siglen, sigsize);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!EVP_DigestUpdate(c->md, tbs, tbslen) || !EVP_DigestFinal_ex(c->md, digest, &dlen))
        return 0;
    return sign_external(c, c->hash, digest, dlen, sig, siglen, sigsize);
}

static int sig_digest_verify_init(void *ctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
    wsig *c = ctx;
    return SG(c->alg, DIGEST_VERIFY_INIT, digest_verify_init)(c->inner, mdname, begin(c, provkey, 0), params);
}

static int sig_digest_verify_update(void *ctx, const unsigned char *data, size_t len)
{
    wsig *c = ctx;
    return SG(c->alg, DIGEST_VERIFY_UPDATE, digest_verify_update)(c->inner, data, len);
}

static int sig_digest_verify_final(void *ctx, const unsigned char *sig, size_t siglen)
{
    wsig *c = ctx;
    return SG(c->alg, DIGEST_VERIFY_FINAL, digest_verify_final)(c->inner, sig, siglen);
}

static int sig_digest_verify(void *ctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
                             size_t tbslen)
{
    wsig *c = ctx;
    return SG(c->alg, DIGEST_VERIFY, digest_verify)(c->inner, sig, siglen, tbs, tbslen);
}

static int sig_get_ctx_params(void *ctx, OSSL_PARAM params[])
{
    wsig *c = ctx;
    return SG(c->alg, GET_CTX_PARAMS, get_ctx_params)(c->inner, params);
}

static int sig_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
    wsig *c = ctx;
    return SG(c->alg, SET_CTX_PARAMS, set_ctx_params)(c->inner, params);
}

static int sig_get_ctx_md_params(void *ctx, OSSL_PARAM params[])
{
    wsig *c = ctx;
    return SG(c->alg, GET_CTX_MD_PARAMS, get_ctx_md_params)(c->inner, params);
}

static const OSSL_PARAM *sig_gettable_ctx_md_params(void *ctx)
{
    wsig *c = ctx;
    return SG(c->alg, GETTABLE_CTX_MD_PARAMS, gettable_ctx_md_params)(c->inner);
}

static int sig_set_ctx_md_params(void *ctx, const OSSL_PARAM params[])
{
    wsig *c = ctx;
    return SG(c->alg, SET_CTX_MD_PARAMS, set_ctx_md_params)(c->inner, params);
}

static const OSSL_PARAM *sig_settable_ctx_md_params(void *ctx)
{
    wsig *c = ctx;
    return SG(c->alg, SETTABLE_CTX_MD_PARAMS, settable_ctx_md_params)(c->inner);
}

/* ---- entry points that carry no object of ours: one copy per algorithm ------------------------- */

static void *key_new(alg_t *a)
{
    return wrap_key(a, KM(a, NEW, new)(dctx), NULL);
}

static void *gen_init(alg_t *a, int selection, const OSSL_PARAM params[])
{
    wgen *g = OPENSSL_zalloc(sizeof *g);
    if (!g)
        return NULL;
    g->alg = a;
    if (!(g->inner = KM(a, GEN_INIT, gen_init)(dctx, selection, params))) {
        OPENSSL_free(g);
        return NULL;
    }
    return g;
}

static void *sig_new(alg_t *a, const char *propq)
{
    wsig *c = OPENSSL_zalloc(sizeof *c);
    if (!c)
        return NULL;
    c->alg = a;
    if (!(c->inner = SG(a, NEWCTX, newctx)(dctx, propq))) {
        OPENSSL_free(c);
        return NULL;
    }
    return c;
}

#define PER_ALG(I)                                                                                                     \
    static void *km_new_##I(void *p)                                                                                   \
    {                                                                                                                  \
        (void)p;                                                                                                       \
        return key_new(&algs[I]);                                                                                      \
    }                                                                                                                  \
    static void *km_gen_init_##I(void *p, int selection, const OSSL_PARAM params[])                                    \
    {                                                                                                                  \
        (void)p;                                                                                                       \
        return gen_init(&algs[I], selection, params);                                                                  \
    }                                                                                                                  \
    static const OSSL_PARAM *km_gen_settable_##I(void *genctx, void *p)                                                \
    {                                                                                                                  \
        (void)p;                                                                                                       \
        wgen *g = genctx;                                                                                              \
        return KM(&algs[I], GEN_SETTABLE_PARAMS, gen_settable_params)(g ? g->inner : NULL, dctx);                      \
    }                                                                                                                  \
    static const OSSL_PARAM *km_gettable_##I(void *p)                                                                  \
    {                                                                                                                  \
        (void)p;                                                                                                       \
        return KM(&algs[I], GETTABLE_PARAMS, gettable_params)(dctx);                                                   \
    }                                                                                                                  \
    static const OSSL_PARAM *km_settable_##I(void *p)                                                                  \
    {                                                                                                                  \
        (void)p;                                                                                                       \
        return KM(&algs[I], SETTABLE_PARAMS, settable_params)(dctx);                                                   \
    }                                                                                                                  \
    static const char *km_query_##I(int op)                                                                            \
    {                                                                                                                  \
        return KM(&algs[I], QUERY_OPERATION_NAME, query_operation_name)(op);                                           \
    }                                                                                                                  \
    static const OSSL_PARAM *km_import_types_##I(int selection)                                                        \
    {                                                                                                                  \
        return KM(&algs[I], IMPORT_TYPES, import_types)(selection);                                                    \
    }                                                                                                                  \
    static const OSSL_PARAM *km_export_types_##I(int selection)                                                        \
    {                                                                                                                  \
        return KM(&algs[I], EXPORT_TYPES, export_types)(selection);                                                    \
    }                                                                                                                  \
    static void *sig_newctx_##I(void *p, const char *propq)                                                            \
    {                                                                                                                  \
        (void)p;                                                                                                       \
        return sig_new(&algs[I], propq);                                                                               \
    }                                                                                                                  \
    static const OSSL_PARAM *sig_gettable_##I(void *ctx, void *p)                                                      \
    {                                                                                                                  \
        (void)p;                                                                                                       \
        wsig *c = ctx;                                                                                                 \
        return SG(&algs[I], GETTABLE_CTX_PARAMS, gettable_ctx_params)(c ? c->inner : NULL, dctx);                      \
    }                                                                                                                  \
    static const OSSL_PARAM *sig_settable_##I(void *ctx, void *p)                                                      \
    {                                                                                                                  \
        (void)p;                                                                                                       \
        wsig *c = ctx;                                                                                                 \
        return SG(&algs[I], SETTABLE_CTX_PARAMS, settable_ctx_params)(c ? c->inner : NULL, dctx);                      \
    }

PER_ALG(0)
PER_ALG(1)
PER_ALG(2)

/* Our function for each dispatch id, per algorithm where it must know which one. */
static fnptr our_km(int i, int id)
{
    static const fnptr per[3][KM_MAX] = {
#define ROW(I)                                                                                                         \
    [OSSL_FUNC_KEYMGMT_NEW] = (fnptr)km_new_##I, [OSSL_FUNC_KEYMGMT_GEN_INIT] = (fnptr)km_gen_init_##I,                \
    [OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS] = (fnptr)km_gen_settable_##I,                                              \
    [OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS] = (fnptr)km_gettable_##I,                                                      \
    [OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS] = (fnptr)km_settable_##I,                                                      \
    [OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME] = (fnptr)km_query_##I,                                                    \
    [OSSL_FUNC_KEYMGMT_IMPORT_TYPES] = (fnptr)km_import_types_##I,                                                     \
    [OSSL_FUNC_KEYMGMT_EXPORT_TYPES] = (fnptr)km_export_types_##I
        {ROW(0)}, {ROW(1)}, {ROW(2)}
#undef ROW
    };
    static const fnptr shared[KM_MAX] = {
        [OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE] = (fnptr)km_gen_set_template,
        [OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS] = (fnptr)km_gen_set_params,
        [OSSL_FUNC_KEYMGMT_GEN] = (fnptr)km_gen,
        [OSSL_FUNC_KEYMGMT_GEN_CLEANUP] = (fnptr)km_gen_cleanup,
        [OSSL_FUNC_KEYMGMT_FREE] = (fnptr)km_free,
        [OSSL_FUNC_KEYMGMT_GET_PARAMS] = (fnptr)km_get_params,
        [OSSL_FUNC_KEYMGMT_SET_PARAMS] = (fnptr)km_set_params,
        [OSSL_FUNC_KEYMGMT_HAS] = (fnptr)km_has,
        [OSSL_FUNC_KEYMGMT_VALIDATE] = (fnptr)km_validate,
        [OSSL_FUNC_KEYMGMT_MATCH] = (fnptr)km_match,
        [OSSL_FUNC_KEYMGMT_IMPORT] = (fnptr)km_import,
        [OSSL_FUNC_KEYMGMT_EXPORT] = (fnptr)km_export,
        [OSSL_FUNC_KEYMGMT_DUP] = (fnptr)km_dup,
        /* LOAD is left out: it takes a reference made by this provider's own decoders (none) */
    };
    return per[i][id] ? per[i][id] : shared[id];
}

static fnptr our_sig(int i, int id)
{
    static const fnptr per[3][SIG_MAX] = {
#define ROW(I)                                                                                                         \
    [OSSL_FUNC_SIGNATURE_NEWCTX] = (fnptr)sig_newctx_##I,                                                              \
    [OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS] = (fnptr)sig_gettable_##I,                                               \
    [OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS] = (fnptr)sig_settable_##I
        {ROW(0)}, {ROW(1)}, {ROW(2)}
#undef ROW
    };
    static const fnptr shared[SIG_MAX] = {
        [OSSL_FUNC_SIGNATURE_SIGN_INIT] = (fnptr)sig_sign_init,
        [OSSL_FUNC_SIGNATURE_SIGN] = (fnptr)sig_sign,
        [OSSL_FUNC_SIGNATURE_VERIFY_INIT] = (fnptr)sig_verify_init,
        [OSSL_FUNC_SIGNATURE_VERIFY] = (fnptr)sig_verify,
        [OSSL_FUNC_SIGNATURE_VERIFY_RECOVER_INIT] = (fnptr)sig_verify_recover_init,
        [OSSL_FUNC_SIGNATURE_VERIFY_RECOVER] = (fnptr)sig_verify_recover,
        [OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT] = (fnptr)sig_digest_sign_init,
        [OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE] = (fnptr)sig_digest_sign_update,
        [OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL] = (fnptr)sig_digest_sign_final,
        [OSSL_FUNC_SIGNATURE_DIGEST_SIGN] = (fnptr)sig_digest_sign,
        [OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT] = (fnptr)sig_digest_verify_init,
        [OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE] = (fnptr)sig_digest_verify_update,
        [OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL] = (fnptr)sig_digest_verify_final,
        [OSSL_FUNC_SIGNATURE_DIGEST_VERIFY] = (fnptr)sig_digest_verify,
        [OSSL_FUNC_SIGNATURE_FREECTX] = (fnptr)sig_freectx,
        [OSSL_FUNC_SIGNATURE_DUPCTX] = (fnptr)sig_dupctx,
        [OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS] = (fnptr)sig_get_ctx_params,
        [OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS] = (fnptr)sig_set_ctx_params,
        [OSSL_FUNC_SIGNATURE_GET_CTX_MD_PARAMS] = (fnptr)sig_get_ctx_md_params,
        [OSSL_FUNC_SIGNATURE_GETTABLE_CTX_MD_PARAMS] = (fnptr)sig_gettable_ctx_md_params,
        [OSSL_FUNC_SIGNATURE_SET_CTX_MD_PARAMS] = (fnptr)sig_set_ctx_md_params,
        [OSSL_FUNC_SIGNATURE_SETTABLE_CTX_MD_PARAMS] = (fnptr)sig_settable_ctx_md_params,
    };
    return per[i][id] ? per[i][id] : shared[id];
}

/* ---- the provider ------------------------------------------------------------------------------ */

static const char *first_name_is(const OSSL_ALGORITHM *alg, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(alg->algorithm_names, name, n) && (!alg->algorithm_names[n] || alg->algorithm_names[n] == ':')
               ? alg->algorithm_names
               : NULL;
}

/* Copies the default provider's function pointers and builds our tables with exactly the entry
 * points the default has. Returns 0 when an algorithm or a function we cannot mirror is missing. */
static int mirror(OSSL_PROVIDER *def, int op)
{
    int no_cache = 0;
    const OSSL_ALGORITHM *list = OSSL_PROVIDER_query_operation(def, op, &no_cache);
    int ok = 1;
    for (int i = 0; i < 3 && ok; i++) {
        alg_t *a = &algs[i];
        const OSSL_ALGORITHM *found = NULL;
        for (const OSSL_ALGORITHM *p = list; p && p->algorithm_names && !found; p++)
            if (first_name_is(p, op == OSSL_OP_KEYMGMT ? a->keymgmt : a->sig))
                found = p;
        if (!found) {
            ok = 0;
            break;
        }
        int max = op == OSSL_OP_KEYMGMT ? KM_MAX : SIG_MAX, n = 0;
        fnptr *into = op == OSSL_OP_KEYMGMT ? a->km : a->s;
        OSSL_DISPATCH *table = op == OSSL_OP_KEYMGMT ? a->km_table : a->sig_table;
        for (const OSSL_DISPATCH *d = found->implementation; d->function_id; d++) {
            if (d->function_id <= 0 || d->function_id >= max)
                continue;
            if (op == OSSL_OP_KEYMGMT && d->function_id == OSSL_FUNC_KEYMGMT_LOAD)
                continue;
            fnptr ours = op == OSSL_OP_KEYMGMT ? our_km(i, d->function_id) : our_sig(i, d->function_id);
            if (!ours) {
                ok = 0; /* an entry point this version of OpenSSL has and we do not mirror */
                break;
            }
            into[d->function_id] = d->function;
            table[n++] = (OSSL_DISPATCH){d->function_id, ours};
        }
        table[n] = (OSSL_DISPATCH){0, NULL};
        if (op == OSSL_OP_KEYMGMT)
            a->km_names = OPENSSL_strdup(found->algorithm_names);
        else
            a->sig_names = OPENSSL_strdup(found->algorithm_names);
    }
    OSSL_PROVIDER_unquery_operation(def, op, list);
    return ok;
}

static const OSSL_ALGORITHM *prov_query(void *provctx, int op, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    return op == OSSL_OP_KEYMGMT ? km_algs : op == OSSL_OP_SIGNATURE ? sig_algs : NULL;
}

static void prov_teardown(void *provctx)
{
    (void)provctx;
}

static const OSSL_DISPATCH prov_table[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (fnptr)prov_query},
    {OSSL_FUNC_PROVIDER_TEARDOWN, (fnptr)prov_teardown},
    {0, NULL},
};

static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in, const OSSL_DISPATCH **out, void **provctx)
{
    (void)handle, (void)in;
    *out = prov_table;
    *provctx = (void *)prov_table;
    return 1;
}

static pthread_mutex_t pref_lock = PTHREAD_MUTEX_INITIALIZER;
static int holders;
static int loaded; /* 1 loaded, -1 failed for good */
static OSSL_PROVIDER *default_prov, *our_prov;

static int load_once(void)
{
    if (loaded)
        return loaded > 0 ? 0 : -1;
    loaded = -1;
    /* Loading any provider stops OpenSSL from loading "default" by itself: load it explicitly,
     * and first, so that without a property query OpenSSL still finds its implementations first. */
    default_prov = OSSL_PROVIDER_load(NULL, "default");
    if (!default_prov)
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "external signing: OpenSSL's default provider cannot be loaded");
    dctx = OSSL_PROVIDER_get0_provider_ctx(default_prov);
    if (!mirror(default_prov, OSSL_OP_KEYMGMT) || !mirror(default_prov, OSSL_OP_SIGNATURE))
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                         "external signing: this OpenSSL's EC/RSA/ED25519 implementations cannot be wrapped");
    for (int i = 0; i < 3; i++) {
        km_algs[i] = (OSSL_ALGORITHM){algs[i].km_names, PROPS, algs[i].km_table, "sftpkit external keys"};
        sig_algs[i] = (OSSL_ALGORITHM){algs[i].sig_names, PROPS, algs[i].sig_table, "sftpkit external keys"};
    }
    km_algs[3] = sig_algs[3] = (OSSL_ALGORITHM){NULL, NULL, NULL, NULL};
    if (!OSSL_PROVIDER_add_builtin(NULL, SFK_EXT_PROVIDER_NAME, prov_init) ||
        !(our_prov = OSSL_PROVIDER_load(NULL, SFK_EXT_PROVIDER_NAME)))
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "external signing: the provider cannot be loaded");
    loaded = 1;
    return 0;
}

int sfk_ext_provider_acquire(void)
{
    pthread_mutex_lock(&pref_lock);
    int rc = load_once();
    if (!rc && holders == 0 && !EVP_set_default_properties(NULL, "?" PROPS))
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "external signing: the provider preference cannot be set");
    if (!rc)
        holders++;
    pthread_mutex_unlock(&pref_lock);
    return rc;
}

void sfk_ext_provider_release(void)
{
    pthread_mutex_lock(&pref_lock);
    /* The provider stays loaded: keys made while it was preferred still live in it (and keep
     * working through the pass-through); only the preference goes. */
    if (holders > 0 && --holders == 0)
        EVP_set_default_properties(NULL, "");
    pthread_mutex_unlock(&pref_lock);
}

int sfk_ext_provider_holders(void)
{
    pthread_mutex_lock(&pref_lock);
    int n = holders;
    pthread_mutex_unlock(&pref_lock);
    return n;
}
