/* The filtered moduli file behind MinDHGroupSize/MaxDHGroupSize/CustomDHGroupIndex: which groups
 * it keeps (libssh's own filter: safe primes that passed the test, size stored as bits - 1), the
 * index, the refusals (nothing left behind), and that remove takes the private directory too.
 * Also the on_error code of each connection close reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/close_codes.h"
#include "sftpkit/sftpkit.h"
#include "ssh/moduli.h"

static char dir[64], source[96];

/* Sizes in the file are bits - 1; the generator digits are what the tests look for. */
static const char *const lines = "# comment line\n"
                                 "20230101000000 2 6 100 2047 2 AA01\n"
                                 "20230101000000 2 6 100 3071 2 AA02\n"
                                 "20230101000000 2 2 100 3071 2 BB00\n" /* not tested: skipped, not counted */
                                 "20230101000000 4 6 100 4095 2 BB01\n" /* not a safe prime: skipped */
                                 "garbage\n"
                                 "20230101000000 2 6 100 4095 5 AA03\n"
                                 "20230101000000 2 6 100 8191 2 AA04\n";

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sfk-moduli-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(source, sizeof source, "%s/moduli", dir);
    FILE *f = fopen(source, "w");
    if (!f)
        return -1;
    fputs(lines, f);
    fclose(f);
    setenv("TMPDIR", dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(source);
    rmdir(dir);
    return 0;
}

static char *slurp(const char *path)
{
    static char text[4096];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int entries_in(const char *d) /* files and directories in d, . and .. excluded */
{
    DIR *dir = opendir(d);
    assert_non_null(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(dir);
    return n;
}

static void test_needed_only_off_the_defaults(void **state)
{
    (void)state;
    sfk_moduli_limits def = {2048, 8192, -1}, low = {1024, 8192, -1}, min = {3072, 8192, -1}, max = {2048, 4096, -1},
                      idx = {2048, 8192, 0};
    assert_false(sfk_moduli_needed(&def));
    assert_false(sfk_moduli_needed(&low)); /* libssh raises a client's minimum to 2048 itself */
    assert_true(sfk_moduli_needed(&min));
    assert_true(sfk_moduli_needed(&max));
    assert_true(sfk_moduli_needed(&idx));
}

static void test_size_window_keeps_only_those_groups(void **state)
{
    (void)state;
    sfk_moduli_limits l = {3072, 4096, -1};
    char *path = NULL;
    assert_int_equal(sfk_moduli_write(source, &l, &path), 0);
    assert_non_null(path);
    struct stat st;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    *slash = '/';
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    const char *text = slurp(path);
    assert_non_null(strstr(text, "AA02"));
    assert_non_null(strstr(text, "AA03"));
    assert_null(strstr(text, "AA01"));
    assert_null(strstr(text, "AA04"));
    assert_null(strstr(text, "BB0"));
    sfk_moduli_remove(path);
    assert_int_equal(entries_in(dir), 1); /* only the source is left */
}

static void test_index_counts_usable_groups_only(void **state)
{
    (void)state;
    sfk_moduli_limits l = {2048, 8192, 2}; /* 0 AA01, 1 AA02, 2 AA03 (BB00, BB01 not counted) */
    char *path = NULL;
    assert_int_equal(sfk_moduli_write(source, &l, &path), 0);
    const char *text = slurp(path);
    assert_non_null(strstr(text, "AA03"));
    assert_null(strstr(text, "AA02"));
    assert_null(strstr(text, "AA04"));
    sfk_moduli_remove(path);
}

static void test_refusals_leave_nothing(void **state)
{
    (void)state;
    const sfk_moduli_limits bad[] = {
        {4096, 3072, -1}, /* min above max */
        {2048, 1024, -1}, /* below anything libssh sends */
        {5000, 6000, -1}, /* no group in the window */
        {2048, 8192, 4},  /* past the last usable group */
        {4096, 8192, 0},  /* the index's group lies outside the window */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *path = (char *)"untouched";
        assert_int_equal(sfk_moduli_write(source, &bad[i], &path), SFTPKIT_ERROR_INVALID_SETUP);
        assert_null(path);
        assert_int_equal(entries_in(dir), 1);
    }
    sfk_moduli_limits l = {3072, 8192, -1};
    char *path = NULL;
    assert_int_equal(sfk_moduli_write("/nonexistent/moduli", &l, &path), SFTPKIT_ERROR_INVALID_SETUP);
    assert_non_null(strstr(sftpkit_last_error_message(), "/nonexistent/moduli"));
    sfk_moduli_remove(NULL);
}

static void test_close_reason_codes(void **state)
{
    (void)state;
    assert_int_equal(sfk_close_reason_code("handshake timeout"), SFTPKIT_ERROR_CONNECTION_TIMEOUT);
    assert_int_equal(sfk_close_reason_code("keepalive timeout (ClientAliveInterval, ClientAliveCountMax)"),
                     SFTPKIT_ERROR_CONNECTION_TIMEOUT);
    assert_int_equal(sfk_close_reason_code("write timeout: the client stopped reading (socket_timeout)"),
                     SFTPKIT_ERROR_CONNECTION_TIMEOUT);
    assert_int_equal(sfk_close_reason_code("key exchange failed: no match for method kex algos"),
                     SFTPKIT_ERROR_KEY_EXCHANGE_FAILED);
    assert_int_equal(sfk_close_reason_code("the client does not support strict key exchange (UseStrictKeyExchange=3)"),
                     SFTPKIT_ERROR_KEY_EXCHANGE_FAILED);
    assert_int_equal(sfk_close_reason_code("too many failed authentication attempts"),
                     SFTPKIT_ERROR_AUTHENTICATION_FAILED);
    assert_int_equal(sfk_close_reason_code("protocol violation: channel data past the window the server advertised"),
                     SFTPKIT_ERROR_PROTOCOL_VIOLATION);
    assert_int_equal(sfk_close_reason_code("connection lost"), SFTPKIT_ERROR_IO);
    assert_int_equal(sfk_close_reason_code(NULL), SFTPKIT_ERROR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needed_only_off_the_defaults),
        cmocka_unit_test(test_size_window_keeps_only_those_groups),
        cmocka_unit_test(test_index_counts_usable_groups_only),
        cmocka_unit_test(test_refusals_leave_nothing),
        cmocka_unit_test(test_close_reason_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
