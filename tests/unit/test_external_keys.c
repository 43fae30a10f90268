/* External host keys and the external-sign provider: the key API, start()'s mode checks, the
 * preference switched on only while such a server runs, and the pass-through: a battery of
 * ordinary OpenSSL operations gives byte-identical results with the provider preferred and
 * without (deterministic signatures, ECDH secrets, verification of good and tampered data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include "sftpkit/sftpkit.h"
#include "ssh/external_sign_provider.h"

/* Fixed keys (generated once with openssl genpkey), so outputs can be compared byte for byte. */
static const char ed_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MC4CAQAwBQYDK2VwBCIEII++eZBNap70ADXdefDmqY1eykBgi+brAq96or4SHsTS\n"
                             "-----END PRIVATE KEY-----\n";
static const char ec_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6w5gyMinNuBew4FC\n"
                             "8xjXhGoKFz9tZCKjlq29gzNUyhmhRANCAARrMAJQZzlElTzjcwfrMLAzpVXyzWSy\n"
                             "1eE2zqCGC48ITfOGhV+l5MA2nX9tG/q5IoFXp5rQSwGJ4lV5lZ/8pGZC\n"
                             "-----END PRIVATE KEY-----\n";

static const char *provider_of_signature(const char *name)
{
    EVP_SIGNATURE *sig = EVP_SIGNATURE_fetch(NULL, name, NULL);
    const char *p = sig ? OSSL_PROVIDER_get0_name(EVP_SIGNATURE_get0_provider(sig)) : "(none)";
    EVP_SIGNATURE_free(sig);
    return p;
}

static EVP_PKEY *read_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(k);
    return k;
}

/* Every byte of an output, so two runs are compared exactly. */
static void put_hex(char *out, size_t cap, const char *label, const unsigned char *p, size_t n)
{
    size_t at = strlen(out);
    at += (size_t)snprintf(out + at, cap - at, "%s=", label);
    for (size_t i = 0; i < n && at + 3 < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%02x", p[i]);
    if (at + 2 < cap)
        strcpy(out + at, "\n");
}

/* Appends the results of ordinary key operations to out (a text record, compared between runs). */
static void battery(char *out, size_t cap)
{
    unsigned char msg[] = "the same bytes every time", sig[1024], tampered[sizeof msg];
    size_t len;
    memcpy(tampered, msg, sizeof msg);
    tampered[0] ^= 1;
    char line[2400];
    /* Ed25519: deterministic signature, verification of good and tampered data */
    EVP_PKEY *ed = read_pem(ed_pem);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    len = sizeof sig;
    assert_int_equal(EVP_DigestSignInit(m, NULL, NULL, NULL, ed), 1);
    assert_int_equal(EVP_DigestSign(m, sig, &len, msg, sizeof msg), 1);
    EVP_MD_CTX_free(m);
    int good = 0, bad = 0;
    m = EVP_MD_CTX_new();
    good = EVP_DigestVerifyInit(m, NULL, NULL, NULL, ed) == 1 && EVP_DigestVerify(m, sig, len, msg, sizeof msg) == 1;
    EVP_MD_CTX_free(m);
    m = EVP_MD_CTX_new();
    bad = EVP_DigestVerifyInit(m, NULL, NULL, NULL, ed) == 1 &&
          EVP_DigestVerify(m, sig, len, tampered, sizeof tampered) == 1;
    EVP_MD_CTX_free(m);
    put_hex(out, cap, "ed25519 signature", sig, len);
    snprintf(line, sizeof line, "ed25519 good=%d tampered=%d\n", good, bad);
    strncat(out, line, cap - strlen(out) - 1);
    assert_true(good);
    assert_false(bad);
    /* ECDSA: sign (random) and verify good, tampered; ECDH with itself is deterministic */
    EVP_PKEY *ec = read_pem(ec_pem);
    m = EVP_MD_CTX_new();
    len = sizeof sig;
    assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, ec), 1);
    assert_int_equal(EVP_DigestSign(m, sig, &len, msg, sizeof msg), 1);
    EVP_MD_CTX_free(m);
    m = EVP_MD_CTX_new();
    good = EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, ec) == 1 &&
           EVP_DigestVerify(m, sig, len, msg, sizeof msg) == 1;
    EVP_MD_CTX_free(m);
    m = EVP_MD_CTX_new();
    bad = EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, ec) == 1 &&
          EVP_DigestVerify(m, sig, len, tampered, sizeof tampered) == 1;
    EVP_MD_CTX_free(m);
    EVP_PKEY_CTX *d = EVP_PKEY_CTX_new(ec, NULL);
    unsigned char secret[64];
    size_t slen = sizeof secret;
    assert_int_equal(EVP_PKEY_derive_init(d), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(d, ec), 1);
    assert_int_equal(EVP_PKEY_derive(d, secret, &slen), 1);
    EVP_PKEY_CTX_free(d);
    put_hex(out, cap, "ecdh secret", secret, slen);
    snprintf(line, sizeof line, "ecdsa good=%d tampered=%d bits=%d\n", good, bad, EVP_PKEY_get_bits(ec));
    strncat(out, line, cap - strlen(out) - 1);
    assert_true(good);
    assert_false(bad);
    /* RSA: generated key (fresh, via the preferred key management), PKCS#1 v1.5 is deterministic */
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    assert_non_null(rsa);
    unsigned char s1[512], s2[512];
    size_t l1 = sizeof s1, l2 = sizeof s2;
    m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha512(), NULL, rsa), 1);
    assert_int_equal(EVP_DigestSign(m, s1, &l1, msg, sizeof msg), 1);
    EVP_MD_CTX_free(m);
    m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha512(), NULL, rsa), 1);
    assert_int_equal(EVP_DigestSign(m, s2, &l2, msg, sizeof msg), 1);
    EVP_MD_CTX_free(m);
    m = EVP_MD_CTX_new();
    bad = EVP_DigestVerifyInit(m, NULL, EVP_sha512(), NULL, rsa) == 1 &&
          EVP_DigestVerify(m, s1, l1, tampered, sizeof tampered) == 1;
    EVP_MD_CTX_free(m);
    snprintf(line, sizeof line, "rsa bits=%d same=%d tampered=%d\n", EVP_PKEY_get_bits(rsa),
             l1 == l2 && !memcmp(s1, s2, l1), bad);
    strncat(out, line, cap - strlen(out) - 1);
    /* PEM round trip of the fixed EC key */
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL), 1);
    char *pem = NULL;
    long n = BIO_get_mem_data(b, &pem);
    snprintf(line, sizeof line, "pem-equal=%d\n", n == (long)strlen(ec_pem) && !memcmp(pem, ec_pem, (size_t)n));
    strncat(out, line, cap - strlen(out) - 1);
    BIO_free(b);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
}

static void test_pass_through_gives_the_same_results(void **state)
{
    (void)state;
    assert_int_equal(sfk_ext_provider_holders(), 0);
    char without[4096] = "", with[4096] = "";
    battery(without, sizeof without);
    assert_int_equal(sfk_ext_provider_acquire(), 0);
    /* the provider really is the one OpenSSL picks now, for every wrapped algorithm */
    assert_string_equal(provider_of_signature("ECDSA"), SFK_EXT_PROVIDER_NAME);
    assert_string_equal(provider_of_signature("RSA"), SFK_EXT_PROVIDER_NAME);
    assert_string_equal(provider_of_signature("ED25519"), SFK_EXT_PROVIDER_NAME);
    battery(with, sizeof with);
    sfk_ext_provider_release();
    assert_string_equal(provider_of_signature("ECDSA"), "default");
    assert_string_equal(with, without);
    assert_non_null(strstr(without, "rsa bits=2048 same=1 tampered=0"));
    assert_non_null(strstr(without, "pem-equal=1"));
}

static const char *public_line(const char *algorithm, int bits)
{
    static char line[4096];
    sftpkit_key *k = sftpkit_key_new();
    char *text = NULL;
    assert_int_equal(sftpkit_key_generate(k, algorithm, bits), 0);
    assert_int_equal(sftpkit_key_export_public(k, &text), 0);
    snprintf(line, sizeof line, "%s", text);
    sftpkit_free(text);
    sftpkit_key_free(k);
    return line;
}

static void test_import_external_api(void **state)
{
    (void)state;
    sftpkit_key *k = sftpkit_key_new();
    const char *line = public_line("ecdsa-sha2-nistp384", 0);
    assert_int_equal(sftpkit_key_import_external(NULL, line, "x"), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_key_import_external(k, line, ""), SFTPKIT_ERROR_INVALID_VALUE);
    assert_int_equal(sftpkit_key_import_external(k, line, "tab\there"), SFTPKIT_ERROR_INVALID_VALUE);
    char long_id[300];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(sftpkit_key_import_external(k, line, long_id), SFTPKIT_ERROR_INVALID_VALUE);
    assert_int_equal(sftpkit_key_import_external(k, "ssh-ed25519 notbase64", "x"), SFTPKIT_ERROR_BAD_KEY);
    char *alg = NULL;
    assert_int_equal(sftpkit_key_get_info(k, &alg, NULL, NULL), SFTPKIT_ERROR_INVALID_STATE); /* no change */
    assert_int_equal(sftpkit_key_import_external(k, line, "hsm:slot 1"), 0);
    int bits = 0;
    char *out = NULL;
    assert_int_equal(sftpkit_key_get_info(k, &alg, &bits, NULL), 0);
    assert_string_equal(alg, "ecdsa-sha2-nistp384");
    assert_int_equal(bits, 384);
    assert_int_equal(sftpkit_key_export_public(k, &out), 0);
    assert_memory_equal(out, line, strlen("ecdsa-sha2-nistp384 ") + 40); /* same public key */
    sftpkit_free(out);
    out = NULL;
    assert_int_equal(sftpkit_key_export_private(k, NULL, &out), SFTPKIT_ERROR_NO_PRIVATE_KEY);
    assert_non_null(strstr(sftpkit_last_error_message(), "external key"));
    sftpkit_free(alg);
    sftpkit_key_free(k);
}

static sftpkit_server *server_with(sftpkit_key *host, int mode)
{
    sftpkit_server *s = sftpkit_server_new();
    int64_t h = 0;
    sftpkit_key_get_handle(host, &h);
    sftpkit_server_set_host(s, "127.0.0.1");
    sftpkit_server_set_port(s, 0);
    assert_int_equal(sftpkit_server_set_server_key_count(s, 1), 0);
    assert_int_equal(sftpkit_server_set_server_key_handle(s, 0, h), 0);
    assert_int_equal(sftpkit_server_set_external_crypto_mode(s, mode), 0);
    return s;
}

static void test_start_modes_and_the_preference(void **state)
{
    (void)state;
    sftpkit_key *ext = sftpkit_key_new(), *plain = sftpkit_key_new();
    assert_int_equal(sftpkit_key_import_external(ext, public_line("ssh-ed25519", 0), "ed"), 0);
    assert_int_equal(sftpkit_key_generate(plain, "ssh-ed25519", 0), 0);
    for (int mode = 0; mode <= 4; mode++) {
        if (mode == 2)
            continue;
        sftpkit_server *s = server_with(ext, mode);
        assert_int_equal(sftpkit_server_start(s), SFTPKIT_ERROR_INVALID_SETUP);
        assert_non_null(strstr(sftpkit_last_error_message(), mode >= 3 ? "DCAuth" : "external_crypto_mode = 2"));
        assert_int_equal(sfk_ext_provider_holders(), 0);
        sftpkit_server_free(s);
    }
    /* an ordinary key in mode 2: nothing to delegate, no preference */
    sftpkit_server *s = server_with(plain, 2);
    assert_int_equal(sftpkit_server_start(s), 0);
    assert_int_equal(sfk_ext_provider_holders(), 0);
    sftpkit_server_free(s);
    /* two servers with an external key: preferred while either runs */
    sftpkit_server *a = server_with(ext, 2), *b = server_with(ext, 2);
    assert_int_equal(sftpkit_server_start(a), 0);
    assert_int_equal(sftpkit_server_start(b), 0);
    assert_int_equal(sfk_ext_provider_holders(), 2);
    assert_string_equal(provider_of_signature("ED25519"), SFK_EXT_PROVIDER_NAME);
    assert_int_equal(sftpkit_server_stop(a), 0);
    assert_int_equal(sfk_ext_provider_holders(), 1);
    sftpkit_server_free(b); /* free stops it */
    assert_int_equal(sfk_ext_provider_holders(), 0);
    assert_string_equal(provider_of_signature("ED25519"), "default");
    sftpkit_server_free(a);
    sftpkit_key_free(ext);
    sftpkit_key_free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_through_gives_the_same_results),
        cmocka_unit_test(test_import_external_api),
        cmocka_unit_test(test_start_modes_and_the_preference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
