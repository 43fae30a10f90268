/* authorized_keys options: from= and expiry-time= enforced, options with nothing to enforce in an
 * SFTP-only server accepted, every other option making the line unusable; start() refuses such
 * a line with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sftpkit/sftpkit.h"
#include "ssh/authorized_keys.h"

static ssh_key key, other;
static char b64[512], other_b64[512];

static int setup(void **state)
{
    (void)state;
    char *s = NULL;
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) || ssh_pki_export_pubkey_base64(key, &s))
        return -1;
    snprintf(b64, sizeof b64, "ssh-ed25519 %s", s);
    ssh_string_free_char(s);
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &other) || ssh_pki_export_pubkey_base64(other, &s))
        return -1;
    snprintf(other_b64, sizeof other_b64, "ssh-ed25519 %s", s);
    ssh_string_free_char(s);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ssh_key_free(key);
    ssh_key_free(other);
    return 0;
}

static sfk_ak_verdict check(const char *options, const char *addr, time_t now, char *why)
{
    char line[1200];
    snprintf(line, sizeof line, "%s%s%s me@host", options, *options ? " " : "", b64);
    return sfk_ak_check(line, key, addr, now, why, 300);
}

static void test_plain_lines(void **state)
{
    (void)state;
    char why[300];
    assert_int_equal(check("", "192.0.2.1", time(NULL), why), SFK_AK_ALLOWED);
    assert_int_equal(sfk_ak_check(other_b64, key, "192.0.2.1", time(NULL), why, sizeof why), SFK_AK_OTHER_KEY);
    assert_int_equal(sfk_ak_check("# a comment", key, "192.0.2.1", time(NULL), why, sizeof why), SFK_AK_OTHER_KEY);
    assert_int_equal(sfk_ak_check("   ", key, "192.0.2.1", time(NULL), why, sizeof why), SFK_AK_OTHER_KEY);
}

static void test_from_patterns_and_cidr(void **state)
{
    (void)state;
    char why[300];
    time_t now = time(NULL);
    assert_int_equal(check("from=\"192.0.2.1\"", "192.0.2.1", now, why), SFK_AK_ALLOWED);
    assert_int_equal(check("from=\"192.0.2.1\"", "192.0.2.2", now, why), SFK_AK_DENIED);
    assert_non_null(strstr(why, "192.0.2.2"));
    assert_int_equal(check("from=\"192.0.2.*\"", "192.0.2.77", now, why), SFK_AK_ALLOWED);
    assert_int_equal(check("from=\"10.0.0.0/8,192.0.2.0/24\"", "192.0.2.200", now, why), SFK_AK_ALLOWED);
    assert_int_equal(check("from=\"10.0.0.0/8\"", "11.0.0.1", now, why), SFK_AK_DENIED);
    assert_int_equal(check("from=\"!192.0.2.5,192.0.2.0/24\"", "192.0.2.5", now, why), SFK_AK_DENIED);
    assert_int_equal(check("from=\"!192.0.2.5,192.0.2.0/24\"", "192.0.2.6", now, why), SFK_AK_ALLOWED);
    assert_int_equal(check("from=\"2001:db8::/32\"", "2001:db8:1::9", now, why), SFK_AK_ALLOWED);
    assert_int_equal(check("from=\"2001:db8::/32\"", "2001:db9::1", now, why), SFK_AK_DENIED);
    assert_int_equal(check("from=\"127.0.0.1\"", "::ffff:127.0.0.1", now, why), SFK_AK_ALLOWED);
    /* host names are never looked up: they cannot match an address */
    assert_int_equal(check("from=\"*.example.com\"", "192.0.2.1", now, why), SFK_AK_DENIED);
    /* a malformed network denies (as sshd) */
    assert_int_equal(check("from=\"192.0.2.0/33\"", "192.0.2.1", now, why), SFK_AK_DENIED);
    /* two from= options: sshd refuses such a line, and so do we */
    assert_int_equal(check("from=\"192.0.2.0/24\",from=\"!192.0.2.9\"", "192.0.2.8", now, why), SFK_AK_UNUSABLE);
    assert_non_null(strstr(why, "more than one"));
}

static void test_expiry_time(void **state)
{
    (void)state;
    char why[300];
    long long t = sfk_ak_parse_expiry("20300102030405Z");
    assert_true(t == 1893553445LL);
    assert_true(sfk_ak_parse_expiry("20300102Z") == 1893542400LL);
    assert_true(sfk_ak_parse_expiry("203001020304Z") == 1893553440LL);
    assert_true(sfk_ak_parse_expiry("2030010") < 0);
    assert_true(sfk_ak_parse_expiry("20301302") < 0);
    assert_int_equal(check("expiry-time=\"20300102Z\"", "192.0.2.1", (time_t)1893542399, why), SFK_AK_ALLOWED);
    assert_int_equal(check("expiry-time=\"20300102Z\"", "192.0.2.1", (time_t)1893542401, why), SFK_AK_DENIED);
    assert_non_null(strstr(why, "expired"));
    assert_int_equal(check("expiry-time=\"yesterday\"", "192.0.2.1", (time_t)0, why), SFK_AK_UNUSABLE);
}

static void test_options_with_nothing_to_enforce(void **state)
{
    (void)state;
    char why[300];
    const char *ok[] = {
        "restrict",
        "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty,no-user-rc",
        "restrict,port-forwarding",
        "permitopen=\"host:22\",environment=\"A=b c\"",
        "command=\"internal-sftp\"",
        "command=\"/usr/lib/openssh/sftp-server\",restrict",
        "from=\"192.0.2.0/24\",expiry-time=\"29991231\",restrict",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(check(ok[i], "192.0.2.1", time(NULL), why), SFK_AK_ALLOWED);
        char line[1200];
        snprintf(line, sizeof line, "%s %s", ok[i], b64);
        assert_int_equal(sfk_ak_validate(line, why, sizeof why), 0);
    }
}

static void test_options_that_cannot_be_enforced(void **state)
{
    (void)state;
    char why[300];
    const char *bad[][2] = {
        {"command=\"/bin/ls\"", "command"},  {"command=\"internal-sftp -R\"", "command"},
        {"cert-authority", "certificates"},  {"principals=\"alice\"", "certificates"},
        {"verify-required", "verif"},        {"frobnicate", "unknown"},
        {"from=192.0.2.1", "double quotes"}, {"no-pty=\"x\"", "no value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        assert_int_equal(check(bad[i][0], "192.0.2.1", time(NULL), why), SFK_AK_UNUSABLE);
        assert_non_null(strstr(why, bad[i][1]));
        char line[1200];
        snprintf(line, sizeof line, "%s %s", bad[i][0], b64);
        assert_int_equal(sfk_ak_validate(line, why, sizeof why), -1);
    }
    /* an unterminated quote swallows the key: the line never lets anyone in */
    char unterminated[1200];
    snprintf(unterminated, sizeof unterminated, "from=\"192.0.2.1 %s", b64);
    assert_int_not_equal(sfk_ak_check(unterminated, key, "192.0.2.1", time(NULL), why, sizeof why), SFK_AK_ALLOWED);
    /* another key's line with such options does not stop this key (it is simply not it) */
    char line[1200];
    snprintf(line, sizeof line, "command=\"/bin/ls\" %s", other_b64);
    assert_int_equal(sfk_ak_check(line, key, "192.0.2.1", time(NULL), why, sizeof why), SFK_AK_OTHER_KEY);
}

static void test_start_refuses_unenforceable_lines(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_user_count(s, 2), 0);
    char lines[2400];
    snprintf(lines, sizeof lines, "from=\"127.0.0.1\" %s\ncommand=\"/bin/sh\" %s\n", b64, other_b64);
    assert_int_equal(sftpkit_server_set_user_ssh_key(s, 1, (const uint8_t *)lines, strlen(lines)), 0);
    assert_int_equal(sftpkit_server_start(s), SFTPKIT_ERROR_INVALID_SETUP);
    const char *msg = sftpkit_last_error_message();
    assert_non_null(strstr(msg, "user_ssh_key[1] line 2"));
    assert_non_null(strstr(msg, "command"));
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_lines),
        cmocka_unit_test(test_from_patterns_and_cidr),
        cmocka_unit_test(test_expiry_time),
        cmocka_unit_test(test_options_with_nothing_to_enforce),
        cmocka_unit_test(test_options_that_cannot_be_enforced),
        cmocka_unit_test(test_start_refuses_unenforceable_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
