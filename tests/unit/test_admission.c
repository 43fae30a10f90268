/* Admission control's pure parts: MaxStartups parsing and OpenSSH's drop curve, and the
 * per-source penalty table (growing delay, shared by an address, ban at the threshold, forgotten
 * after a quiet period, bounded slots that evict the stalest entry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <string.h>

#include "server/admission.h"

static void test_startups_parse(void **state)
{
    (void)state;
    sfk_startups m;
    assert_int_equal(sfk_startups_parse("10:30:100", &m), 0);
    assert_int_equal(m.start, 10), assert_int_equal(m.rate, 30), assert_int_equal(m.full, 100);
    assert_int_equal(sfk_startups_parse("50", &m), 0);
    assert_int_equal(m.start, 50), assert_int_equal(m.rate, 100), assert_int_equal(m.full, 50);
    assert_int_equal(sfk_startups_parse("0", &m), 0);
    assert_int_equal(m.full, 0);
    const char *bad[] = {"", "x", "10:30", "10:0:100", "10:101:100", "100:30:10", "10:30:100x", "-1", "0:30:100"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        m = (sfk_startups){7, 7, 7};
        assert_int_equal(sfk_startups_parse(bad[i], &m), -1);
        assert_int_equal(m.start, 7); /* a bad value changes nothing */
    }
}

static void test_startups_curve(void **state)
{
    (void)state;
    sfk_startups m = {10, 30, 100}, off = {0, 100, 0};
    for (int draw = 0; draw < 100; draw++) {
        assert_false(sfk_startups_drop(&m, 9, draw));  /* below start: never */
        assert_true(sfk_startups_drop(&m, 100, draw)); /* at full: always */
        assert_false(sfk_startups_drop(&off, 100000, draw));
    }
    int at_start = 0, midway = 0;
    for (int draw = 0; draw < 100; draw++) {
        at_start += sfk_startups_drop(&m, 10, draw);
        midway += sfk_startups_drop(&m, 55, draw);
    }
    assert_int_equal(at_start, 30); /* rate % at start */
    assert_int_equal(midway, 65);   /* linear to 100 % at full */
}

static sfk_limits limits(void)
{
    return (sfk_limits){.fail_delay_ms = 200, .fail_max_delay_ms = 5000, .ban_threshold = 5, .ban_ms = 60000};
}

static void test_penalty_grows_is_shared_and_bans(void **state)
{
    (void)state;
    sfk_penalty p;
    sfk_penalty_init(&p);
    sfk_limits l = limits();
    int banned = 0;
    int64_t t = 1000000;
    assert_int_equal(sfk_penalty_fail(&p, &l, "10.0.0.1", t, &banned), 200);
    assert_int_equal(sfk_penalty_fail(&p, &l, "10.0.0.1", t + 1, &banned), 400); /* another connection */
    assert_int_equal(sfk_penalty_fail(&p, &l, "10.0.0.2", t + 1, &banned), 200); /* another address */
    assert_int_equal(sfk_penalty_fail(&p, &l, "10.0.0.1", t + 2, &banned), 800);
    assert_int_equal(sfk_penalty_fail(&p, &l, "10.0.0.1", t + 3, &banned), 1600);
    assert_false(banned);
    assert_false(sfk_penalty_banned(&p, "10.0.0.1", t + 4));
    sfk_penalty_fail(&p, &l, "10.0.0.1", t + 4, &banned); /* the 5th: threshold */
    assert_true(banned);
    assert_true(sfk_penalty_banned(&p, "10.0.0.1", t + 5));
    assert_false(sfk_penalty_banned(&p, "10.0.0.2", t + 5));
    assert_false(sfk_penalty_banned(&p, "10.0.0.1", t + 4 + 60000)); /* the ban ends */
    /* after a quiet period as long as a ban, the count starts again */
    assert_int_equal(sfk_penalty_fail(&p, &l, "10.0.0.1", t + 4 + 60001, &banned), 200);
    assert_false(banned);
    /* the cap */
    l.ban_threshold = 0;
    int64_t d = 0;
    for (int i = 0; i < 40; i++)
        d = sfk_penalty_fail(&p, &l, "10.0.0.3", t + i, &banned);
    assert_int_equal(d, 5000);
    assert_false(banned); /* threshold 0: never */
    sfk_penalty_destroy(&p);
}

static void test_penalty_table_is_bounded(void **state)
{
    (void)state;
    sfk_penalty p;
    sfk_penalty_init(&p);
    sfk_limits l = limits();
    int banned;
    sfk_penalty_fail(&p, &l, "192.0.2.1", 1, &banned);
    for (int i = 0; i < 5; i++)
        sfk_penalty_fail(&p, &l, "192.0.2.1", 2, &banned); /* banned at t=2 */
    assert_true(sfk_penalty_banned(&p, "192.0.2.1", 3));
    /* 100 000 other addresses cannot grow the table; older failures are evicted first */
    char a[64];
    for (int i = 0; i < 100000; i++) {
        snprintf(a, sizeof a, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        sfk_penalty_fail(&p, &l, a, 1, &banned);
    }
    /* the banned entry's ban (until 60002) is newer than every attacker's failure (t=1) */
    assert_true(sfk_penalty_banned(&p, "192.0.2.1", 3));
    sfk_penalty_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startups_parse),
        cmocka_unit_test(test_startups_curve),
        cmocka_unit_test(test_penalty_grows_is_shared_and_bans),
        cmocka_unit_test(test_penalty_table_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
