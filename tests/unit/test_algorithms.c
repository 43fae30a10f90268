/* The document's algorithm-list syntax ("a,b;-c", "all", "-all", aliases) resolved over our table
 * of libssh 0.10.6's algorithms, and the table checked against libssh itself: every name we call
 * supported is one libssh accepts, and every name we call unsupported is one it drops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sftpkit/sftpkit.h"
#include "ssh/algorithms.h"

static const char *kinds[] = {"encryption", "mac", "kex", "public_key", "compression"};

static char *joined(const char *const *names)
{
    static char buf[2048];
    buf[0] = '\0';
    for (int i = 0; names[i]; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, names[i]);
    }
    return buf;
}

/* Resolves and compares; expected NULL means "refused", and then message must contain each of
 * the (up to two) fragments. */
static void check(const char *kind, const char *list, const char *expected, const char *frag1, const char *frag2)
{
    char *message = (char *)"untouched";
    char *got = sfk_algorithms_resolve(kind, list, &message);
    if (expected) {
        if (!got)
            fail_msg("%s \"%s\" refused: %s", kind, list, message);
        assert_string_equal(got, expected);
        assert_null(message);
    } else {
        if (got)
            fail_msg("%s \"%s\" resolved to \"%s\"", kind, list, got);
        assert_non_null(message);
        if (frag1 && !strstr(message, frag1))
            fail_msg("message \"%s\" lacks \"%s\"", message, frag1);
        if (frag2 && !strstr(message, frag2))
            fail_msg("message \"%s\" lacks \"%s\"", message, frag2);
    }
    free(got);
    if (!expected)
        free(message);
}

static void test_empty_list_is_the_defaults(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        const sfk_algorithm_table *t = sfk_algorithm_table_for(kinds[k]);
        assert_non_null(t);
        char *expected = strdup(joined(t->defaults));
        check(kinds[k], "", expected, NULL, NULL);
        check(kinds[k], NULL, expected, NULL, NULL);
        free(expected);
    }
    /* the defaults leave out what is weak */
    const sfk_algorithm_table *enc = sfk_algorithm_table_for("encryption");
    char *d = joined(enc->defaults);
    assert_null(strstr(d, "cbc"));
    assert_null(strstr(joined(sfk_algorithm_table_for("kex")->defaults), "sha1"));
    assert_null(strstr(joined(sfk_algorithm_table_for("public_key")->defaults), "ssh-rsa"));
}

static void test_all_and_minus_all(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        const sfk_algorithm_table *t = sfk_algorithm_table_for(kinds[k]);
        char *all = strdup(joined(t->supported));
        check(kinds[k], "all", all, NULL, NULL);
        check(kinds[k], "-all;all", all, NULL, NULL);
        check(kinds[k], "-all", NULL, "no algorithm enabled", NULL);
        check(kinds[k], "all,-all", NULL, "no algorithm enabled", NULL);
        /* each supported name alone */
        for (int i = 0; t->supported[i]; i++) {
            char list[128];
            snprintf(list, sizeof list, "-all,%s", t->supported[i]);
            check(kinds[k], list, t->supported[i], NULL, NULL);
        }
        free(all);
    }
}

static void test_add_remove_order_and_separators(void **state)
{
    (void)state;
    /* the user's order is the preference order */
    check("encryption", "-all;aes256-ctr,aes128-ctr", "aes256-ctr,aes128-ctr", NULL, NULL);
    check("encryption", "-all aes128-ctr\taes256-ctr", "aes128-ctr,aes256-ctr", NULL, NULL);
    /* removing one default keeps the rest in order */
    check("encryption", "-aes128-ctr",
          "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr", NULL,
          NULL);
    /* adding a non-default appends it */
    check("encryption", "aes128-cbc",
          "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,"
          "aes128-ctr,aes128-cbc",
          NULL, NULL);
    /* adding what is there, twice, changes nothing; removing what is absent neither */
    check("mac", "-all,hmac-sha1,hmac-sha1;hmac-sha1,-hmac-sha2-512", "hmac-sha1", NULL, NULL);
    /* later entries win */
    check("kex", "-all,curve25519-sha256,-curve25519-sha256,ecdh-sha2-nistp256", "ecdh-sha2-nistp256", NULL, NULL);
    check("compression", "-all;none", "none", NULL, NULL);
    check("compression", "-none", "zlib@openssh.com,zlib", NULL, NULL);
    /* empty items are ignored */
    check("public_key", ",,;-all;;ssh-ed25519,", "ssh-ed25519", NULL, NULL);
}

static void test_aliases(void **state)
{
    (void)state;
    check("encryption", "-all,aes128-gcm", "aes128-gcm@openssh.com", NULL, NULL);
    check("encryption", "-all,chacha20-poly1305,aes256-gcm", "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com",
          NULL, NULL);
    /* an alias removes the name it stands for */
    check("encryption", "-chacha20-poly1305,-aes256-gcm,-aes128-gcm", "aes256-ctr,aes192-ctr,aes128-ctr", NULL, NULL);
    check("kex", "-all,ecdh-sha2-curve25519", "curve25519-sha256", NULL, NULL);
}

static void test_unsupported_and_unknown_are_named(void **state)
{
    (void)state;
    check("encryption", "twofish256-cbc", NULL, "not supported by this server (libssh 0.10.6): twofish256-cbc", NULL);
    check("encryption", "aes128-ctr,bogus-cipher", NULL, "unknown algorithm names: bogus-cipher", NULL);
    check("encryption", "blowfish-cbc,-nope;arcfour", NULL, "blowfish-cbc, arcfour", "unknown algorithm names: nope");
    check("mac", "hmac-md5", NULL, "not supported", "hmac-md5");
    check("kex", "-all,sntrup761x25519-sha512@openssh.com", NULL, "unknown", "sntrup761x25519-sha512@openssh.com");
    check("kex", "curve448-sha512@libssh.org", NULL, "not supported", "curve448");
    check("public_key", "ssh-dss", NULL, "not supported", "ssh-dss");
    check("public_key", "x509v3-sign-rsa", NULL, "not supported", "x509v3-sign-rsa");
    check("compression", "lz4", NULL, "unknown", "lz4");
    /* names are case-sensitive, as in SSH */
    check("encryption", "AES128-CTR", NULL, "unknown", "AES128-CTR");
    /* every unsupported name of every kind is refused as unsupported */
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        const sfk_algorithm_table *t = sfk_algorithm_table_for(kinds[k]);
        for (int i = 0; t->unsupported[i]; i++)
            check(kinds[k], t->unsupported[i], NULL, "not supported", t->unsupported[i]);
    }
    char *message = NULL;
    assert_null(sfk_algorithms_resolve("ciphers", "", &message));
    assert_non_null(strstr(message, "kind"));
    free(message);
    assert_int_equal(sfk_algorithms_check("encryption", "-all,aes128-ctr", &message), 0);
    assert_int_not_equal(sfk_algorithms_check("encryption", "nope", &message), 0);
    free(message);
}

/* What libssh itself accepts: a list with only unknown names is refused by ssh_options_set. */
static int libssh_accepts(ssh_session session, const char *kind, const char *name)
{
    int option = !strcmp(kind, "encryption")    ? SSH_OPTIONS_CIPHERS_C_S
                 : !strcmp(kind, "mac")         ? SSH_OPTIONS_HMAC_C_S
                 : !strcmp(kind, "kex")         ? SSH_OPTIONS_KEY_EXCHANGE
                 : !strcmp(kind, "compression") ? SSH_OPTIONS_COMPRESSION_C_S
                                                : SSH_OPTIONS_HOSTKEYS;
    return ssh_options_set(session, option, name) == SSH_OK;
}

static void test_table_matches_libssh(void **state)
{
    (void)state;
    ssh_session session = ssh_new();
    assert_non_null(session);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        const sfk_algorithm_table *t = sfk_algorithm_table_for(kinds[k]);
        for (int i = 0; t->supported[i]; i++)
            if (!libssh_accepts(session, kinds[k], t->supported[i]))
                fail_msg("%s \"%s\" is in our table but libssh refuses it", kinds[k], t->supported[i]);
        for (int i = 0; t->unsupported[i]; i++) {
            /* ssh-dss is compiled into Debian's libssh but refused by policy (DSA is obsolete);
             * the MAC table lists AEAD cipher names that are no MACs */
            if (!strcmp(t->unsupported[i], "ssh-dss") || !strcmp(kinds[k], "mac"))
                continue;
            if (libssh_accepts(session, kinds[k], t->unsupported[i]))
                fail_msg("%s \"%s\" is called unsupported but libssh accepts it", kinds[k], t->unsupported[i]);
        }
    }
    ssh_free(session);
}

/* The five properties validate through the same resolver and keep the text as written. */
static void test_properties_validate(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    int (*setters[])(sftpkit_server *, const char *) = {
        sftpkit_server_set_ssh_settings_encryption_algorithms, sftpkit_server_set_ssh_settings_mac_algorithms,
        sftpkit_server_set_ssh_settings_kex_algorithms, sftpkit_server_set_ssh_settings_public_key_algorithms,
        sftpkit_server_set_ssh_settings_compression_algorithms};
    int (*getters[])(const sftpkit_server *, char **) = {
        sftpkit_server_get_ssh_settings_encryption_algorithms, sftpkit_server_get_ssh_settings_mac_algorithms,
        sftpkit_server_get_ssh_settings_kex_algorithms, sftpkit_server_get_ssh_settings_public_key_algorithms,
        sftpkit_server_get_ssh_settings_compression_algorithms};
    const char *good[] = {"-all;aes256-ctr", "-hmac-sha1", "-all,curve25519-sha256", "-all,ssh-ed25519", "-all,none"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(setters[i](s, good[i]), 0);
        assert_int_equal(setters[i](s, "-all,not-an-algorithm"), SFTPKIT_ERROR_INVALID_VALUE);
        assert_non_null(strstr(sftpkit_last_error_message(), "not-an-algorithm"));
        assert_int_equal(setters[i](s, "-all"), SFTPKIT_ERROR_INVALID_VALUE);
        char *v = NULL;
        getters[i](s, &v);
        assert_string_equal(v, good[i]); /* the refused values changed nothing */
        sftpkit_free(v);
    }
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_list_is_the_defaults),
        cmocka_unit_test(test_all_and_minus_all),
        cmocka_unit_test(test_add_remove_order_and_separators),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_unsupported_and_unknown_are_named),
        cmocka_unit_test(test_table_matches_libssh),
        cmocka_unit_test(test_properties_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
