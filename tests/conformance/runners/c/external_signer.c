/* The external_signer behaviour (FORMAT.md): on_external_sign signed with the platform's crypto,
 * which for C is OpenSSL, from a PKCS#8 PEM key only this handler reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crt.h"
#include "hex.h"

static int sign(EVP_PKEY *key, const char *scheme, const char *hash, const unsigned char *in, size_t inlen,
                unsigned char *sig, size_t *siglen)
{
    if (!strcmp(scheme, "ed25519")) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        int ok = EVP_DigestSignInit(m, NULL, NULL, NULL, key) == 1 && EVP_DigestSign(m, sig, siglen, in, inlen) == 1;
        EVP_MD_CTX_free(m);
        return ok;
    }
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
    const EVP_MD *md = EVP_get_digestbyname(hash);
    int ok = c && md && EVP_PKEY_sign_init(c) == 1 &&
             (strcmp(scheme, "rsa-pkcs1v15") || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1) &&
             EVP_PKEY_CTX_set_signature_md(c, md) == 1 && EVP_PKEY_sign(c, sig, siglen, in, inlen) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

int crt_external_sign(crt_case *cs, sftpkit_event *ev, const crt_record *r, char **err)
{
    const crt_val *op = crt_param(r, "operation_id"), *pars = crt_param(r, "pars"), *data = crt_param(r, "data"),
                  *hash = crt_param(r, "hash_algorithm");
    if (!op || !pars || !data || !hash || op->t != CRT_STR)
        return crt_fail(err, "external_signer: on_external_sign without its parameters");
    const char *key_id = strchr(op->s, ':') ? strchr(op->s, ':') + 1 : op->s;
    const json *spec = json_get(json_get(json_get(cs->c, "external_signer"), "keys"), key_id);
    if (!spec)
        return crt_fail(err, "external_signer: no key %s", key_id);
    crt_val path = {0};
    if (crt_resolve(cs, spec, r, &path, err))
        return -1;
    unsigned char in[1024], scheme_text[128], sig[1024];
    int inlen = test_unhex(data->s, in, sizeof in), plen = test_unhex(pars->s, scheme_text, sizeof scheme_text - 1);
    if (inlen <= 0 || plen <= 0) {
        crt_val_free(&path);
        return crt_fail(err, "external_signer: data or pars is not hex");
    }
    scheme_text[plen] = '\0';
    const char *scheme = strchr((char *)scheme_text, ';') ? strchr((char *)scheme_text, ';') + 1 : "";
    FILE *f = fopen(path.s, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    size_t siglen = sizeof sig;
    int ok = key && sign(key, scheme, hash->s, in, (size_t)inlen, sig, &siglen);
    EVP_PKEY_free(key);
    if (!ok) {
        int rc = crt_fail(err, "external_signer: cannot sign with %s (scheme %s)", path.s, scheme);
        crt_val_free(&path);
        return rc;
    }
    crt_val_free(&path);
    char *hex = test_hex(sig, siglen);
    int rc = hex ? sftpkit_event_set_str(ev, "signed_data", hex) : -1;
    free(hex);
    return rc ? crt_fail(err, "external_signer: set signed_data: %s", sftpkit_last_error_message()) : 0;
}
