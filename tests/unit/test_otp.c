/* One-time passwords: the generator against the RFCs' own test vectors (RFC 4226 appendix D for
 * HOTP, RFC 6238 appendix B for TOTP with SHA-1, SHA-256 and SHA-512 and their seeds), then the
 * keyboard-interactive verdict built on it: HOTP counters advance and a code works once, TOTP
 * takes one step either side, and the user_* columns choose hash, digits and interval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <libssh/libssh.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sftpkit/sftpkit.h"
#include "ssh/auth.h"
#include "util/otp.h"

static const char seed20[] = "12345678901234567890";
static const char seed32[] = "12345678901234567890123456789012";
static const char seed64[] = "1234567890123456789012345678901234567890123456789012345678901234";

static void test_hotp_rfc4226_appendix_d(void **state)
{
    (void)state;
    const char *expected[] = {"755224", "287082", "359152", "969429", "338314",
                              "254676", "287922", "162583", "399871", "520489"};
    for (uint64_t count = 0; count < 10; count++) {
        char code[11];
        assert_int_equal(sfk_otp_generate((const uint8_t *)seed20, 20, "SHA1", count, 6, code), 0);
        assert_string_equal(code, expected[count]);
        /* "" is SHA-1 too (the user_hash_algorithm default) */
        assert_int_equal(sfk_otp_generate((const uint8_t *)seed20, 20, "", count, 6, code), 0);
        assert_string_equal(code, expected[count]);
    }
}

static void test_totp_rfc6238_appendix_b(void **state)
{
    (void)state;
    static const struct {
        int64_t time;
        const char *sha1, *sha256, *sha512;
    } vectors[] = {
        {59, "94287082", "46119246", "90693936"},         {1111111109, "07081804", "68084774", "25091201"},
        {1111111111, "14050471", "67062674", "99943326"}, {1234567890, "89005924", "91819424", "93441116"},
        {2000000000, "69279037", "90698825", "38618901"}, {20000000000, "65353130", "77737706", "47863826"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
        uint64_t step = (uint64_t)(vectors[i].time / 30); /* T0 = 0, X = 30 */
        char code[11];
        assert_int_equal(sfk_otp_generate((const uint8_t *)seed20, 20, "SHA1", step, 8, code), 0);
        assert_string_equal(code, vectors[i].sha1);
        assert_int_equal(sfk_otp_generate((const uint8_t *)seed32, 32, "SHA256", step, 8, code), 0);
        assert_string_equal(code, vectors[i].sha256);
        assert_int_equal(sfk_otp_generate((const uint8_t *)seed64, 64, "SHA512", step, 8, code), 0);
        assert_string_equal(code, vectors[i].sha512);
        /* hash names are case-insensitive; 6 digits are the low 6 of the 8 */
        assert_int_equal(sfk_otp_generate((const uint8_t *)seed32, 32, "sha256", step, 6, code), 0);
        assert_string_equal(code, vectors[i].sha256 + 2);
    }
}

static void test_generator_refuses_bad_arguments(void **state)
{
    (void)state;
    char code[11] = "untouched";
    assert_int_equal(sfk_otp_generate((const uint8_t *)seed20, 20, "MD5", 0, 6, code), -1);
    assert_int_equal(sfk_otp_generate((const uint8_t *)seed20, 20, "SHA3", 0, 6, code), -1);
    assert_int_equal(sfk_otp_generate((const uint8_t *)seed20, 20, "SHA1", 0, 5, code), -1);
    assert_int_equal(sfk_otp_generate((const uint8_t *)seed20, 20, "SHA1", 0, 11, code), -1);
    /* 10 digits: the whole 31-bit value, zero-padded */
    assert_int_equal(sfk_otp_generate((const uint8_t *)seed20, 20, "SHA1", 0, 10, code), 0);
    assert_int_equal(strlen(code), 10);
    assert_string_equal(code + 4, "755224");
}

/* ---- the keyboard-interactive verdict ------------------------------------------------------ */

static sftpkit_server *otp_server(int64_t algorithm, const char *hash, const char *secret, int64_t value,
                                  int64_t digits)
{
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_user_count(s, 2), 0);
    sftpkit_server_set_user_username(s, 0, "plain");
    sftpkit_server_set_user_password(s, 0, "pw");
    sftpkit_server_set_user_username(s, 1, "otp");
    assert_int_equal(sftpkit_server_set_user_otp_algorithm(s, 1, algorithm), 0);
    assert_int_equal(sftpkit_server_set_user_hash_algorithm(s, 1, hash), 0);
    assert_int_equal(sftpkit_server_set_user_shared_secret(s, 1, (const uint8_t *)secret, strlen(secret)), 0);
    assert_int_equal(sftpkit_server_set_user_otp_value(s, 1, value), 0);
    assert_int_equal(sftpkit_server_set_user_password_len(s, 1, digits), 0);
    return s;
}

/* One keyboard-interactive round on a fresh connection: the prompt, then the answer's verdict. */
static int kbd_round(sftpkit_server *s, const char *user, const char *answer, const char **prompt)
{
    sfk_auth a;
    sfk_auth_init(&a, s, 1);
    const char *p = sfk_auth_kbd_prompt(&a, user);
    if (prompt)
        *prompt = p;
    int verdict = sfk_auth_kbd_answer(&a, user, answer);
    sfk_auth_clear(&a);
    return verdict;
}

static void test_hotp_login_advances_the_counter(void **state)
{
    (void)state;
    sftpkit_server *s = otp_server(0, "SHA1", seed20, 3, 6);
    const char *prompt = NULL;
    /* counter 3 is "969429"; a used code (counter 2) and a wrong one are refused */
    assert_int_equal(kbd_round(s, "otp", "359152", &prompt), SSH_AUTH_DENIED);
    assert_non_null(strstr(prompt, "One-time password"));
    assert_int_equal(kbd_round(s, "otp", "000000", NULL), SSH_AUTH_DENIED);
    assert_int_equal(kbd_round(s, "otp", "969429", NULL), SSH_AUTH_SUCCESS);
    int64_t counter = 0;
    sftpkit_server_get_user_otp_value(s, 1, &counter);
    assert_int_equal(counter, 4);
    assert_int_equal(kbd_round(s, "otp", "969429", NULL), SSH_AUTH_DENIED); /* works once */
    /* a look-ahead: counter 6 ("287922") is accepted from 4 and moves the counter past it */
    assert_int_equal(kbd_round(s, "otp", "287922", NULL), SSH_AUTH_SUCCESS);
    sftpkit_server_get_user_otp_value(s, 1, &counter);
    assert_int_equal(counter, 7);
    /* ...but not beyond the window: counter 7 + 4 = 11 is too far */
    char far[11];
    sfk_otp_generate((const uint8_t *)seed20, 20, "SHA1", 11, 6, far);
    assert_int_equal(kbd_round(s, "otp", far, NULL), SSH_AUTH_DENIED);
    /* the plain user still gets a password prompt and its password */
    assert_int_equal(kbd_round(s, "plain", "pw", &prompt), SSH_AUTH_SUCCESS);
    assert_null(strstr(prompt, "One-time"));
    /* and the OTP user's code is not a password for anyone else */
    assert_int_equal(kbd_round(s, "plain", "287922", NULL), SSH_AUTH_DENIED);
    sftpkit_server_free(s);
}

static void test_totp_login_with_each_hash(void **state)
{
    (void)state;
    const struct {
        const char *hash, *seed;
        int64_t interval, digits;
    } cases[] = {{"SHA1", seed20, 30, 6}, {"SHA256", seed32, 60, 8}, {"SHA512", seed64, 0, 8}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sftpkit_server *s = otp_server(1, cases[i].hash, cases[i].seed, cases[i].interval, cases[i].digits);
        int64_t step = cases[i].interval ? cases[i].interval : 30; /* 0 means the usual 30 s */
        int64_t now = (int64_t)time(NULL) / step;
        char code[11], old[11], wrong_hash[11];
        sfk_otp_generate((const uint8_t *)cases[i].seed, strlen(cases[i].seed), cases[i].hash, (uint64_t)now,
                         (int)cases[i].digits, code);
        sfk_otp_generate((const uint8_t *)cases[i].seed, strlen(cases[i].seed), cases[i].hash, (uint64_t)(now - 3),
                         (int)cases[i].digits, old);
        sfk_otp_generate((const uint8_t *)cases[i].seed, strlen(cases[i].seed), i ? "SHA1" : "SHA512", (uint64_t)now,
                         (int)cases[i].digits, wrong_hash);
        assert_int_equal(kbd_round(s, "otp", code, NULL), SSH_AUTH_SUCCESS);
        assert_int_equal(kbd_round(s, "otp", old, NULL), SSH_AUTH_DENIED);
        assert_int_equal(kbd_round(s, "otp", wrong_hash, NULL), SSH_AUTH_DENIED);
        /* the number of digits matters: the 6-digit tail of an 8-digit code is not it */
        if (cases[i].digits == 8)
            assert_int_equal(kbd_round(s, "otp", code + 2, NULL), SSH_AUTH_DENIED);
        sftpkit_server_free(s);
    }
}

/* Several connections answering with the same HOTP code at once: exactly one gets in (the counter
 * is claimed, not read and then written). */
typedef struct {
    sftpkit_server *s;
    pthread_barrier_t *go;
    int verdict;
} racer;

static void *race_one(void *arg)
{
    racer *r = arg;
    sfk_auth a;
    sfk_auth_init(&a, r->s, 1);
    sfk_auth_kbd_prompt(&a, "otp");
    pthread_barrier_wait(r->go);
    r->verdict = sfk_auth_kbd_answer(&a, "otp", "969429"); /* counter 3 */
    sfk_auth_clear(&a);
    return NULL;
}

static void test_hotp_code_is_claimed_once_under_concurrency(void **state)
{
    (void)state;
    enum { N = 8 };
    for (int round = 0; round < 10; round++) { /* each round costs the losers one 0.2 s failure delay */
        sftpkit_server *s = otp_server(0, "SHA1", seed20, 3, 6);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, N);
        racer r[N];
        pthread_t t[N];
        for (int i = 0; i < N; i++) {
            r[i] = (racer){.s = s, .go = &go};
            pthread_create(&t[i], NULL, race_one, &r[i]);
        }
        int wins = 0;
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            wins += r[i].verdict == SSH_AUTH_SUCCESS;
        }
        pthread_barrier_destroy(&go);
        int64_t counter = 0;
        sftpkit_server_get_user_otp_value(s, 1, &counter);
        sftpkit_server_free(s);
        if (wins != 1)
            fail_msg("round %d: the same code let %d connections in", round, wins);
        assert_int_equal(counter, 4);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hotp_rfc4226_appendix_d),
        cmocka_unit_test(test_totp_rfc6238_appendix_b),
        cmocka_unit_test(test_generator_refuses_bad_arguments),
        cmocka_unit_test(test_hotp_login_advances_the_counter),
        cmocka_unit_test(test_totp_login_with_each_hash),
        cmocka_unit_test(test_hotp_code_is_claimed_once_under_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
