/* Metrics core: exact totals from concurrent updates (relaxed atomics lose nothing), histogram
 * bucket edges and cumulative rendering, request types and statuses outside the tables, the
 * admission-action names (claimed lock-free, overflowing to "other"), and both renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sftpkit/sftpkit.h"
#include "util/metrics.h"

static char *prom(sftpkit_server *s)
{
    char *text = NULL;
    assert_int_equal(sftpkit_server_metrics_prometheus(s, &text), 0);
    assert_non_null(text);
    return text;
}

/* The value of the sample line that starts with `prefix ` (exact name and labels). */
static long long sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, n) && p[n] == ' ')
            return atoll(p + n + 1);
    return -1;
}

static void *hammer(void *arg)
{
    sftpkit_server *s = arg;
    for (int i = 0; i < 20000; i++) {
        sfk_metrics_request(s, 5 /* READ */, 0, 50);
        sfk_metrics_bytes(s, 3, 7);
        sfk_metrics_admission(s, i % 2 ? "max_connections" : "auth_failure_delay");
    }
    return NULL;
}

static void test_concurrent_updates_are_exact(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, s);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char *text = prom(s);
    assert_int_equal(sample(text, "sftpkit_requests_total{type=\"read\",status=\"ok\"}"), 80000);
    assert_int_equal(sample(text, "sftpkit_request_duration_seconds_count{type=\"read\"}"), 80000);
    assert_int_equal(sample(text, "sftpkit_bytes_received_total"), 240000);
    assert_int_equal(sample(text, "sftpkit_bytes_sent_total"), 560000);
    assert_int_equal(sample(text, "sftpkit_admission_actions_total{action=\"max_connections\"}"), 40000);
    assert_int_equal(sample(text, "sftpkit_admission_actions_total{action=\"auth_failure_delay\"}"), 40000);
    /* each name claimed exactly one slot even though four threads raced for it */
    int seen = 0;
    for (const char *p = text; (p = strstr(p, "action=\"max_connections\"")) != NULL; p++)
        seen++;
    assert_int_equal(seen, 1);
    sftpkit_free(text);
    sftpkit_server_free(s);
}

static void test_histogram_edges_and_cumulative_buckets(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    sfk_metrics_request(s, 17 /* STAT */, 2, 100);   /* exactly on the first bound: in it */
    sfk_metrics_request(s, 17, 2, 101);              /* just over: the next */
    sfk_metrics_request(s, 17, 0, 20 * 1000 * 1000); /* 20 s: only +Inf */
    sfk_metrics_request(s, 17, 0, -5);               /* a clock step back counts as 0 */
    char *text = prom(s);
    assert_int_equal(sample(text, "sftpkit_request_duration_seconds_bucket{type=\"stat\",le=\"0.0001\"}"), 2);
    assert_int_equal(sample(text, "sftpkit_request_duration_seconds_bucket{type=\"stat\",le=\"0.00025\"}"), 3);
    assert_int_equal(sample(text, "sftpkit_request_duration_seconds_bucket{type=\"stat\",le=\"10\"}"), 3);
    assert_int_equal(sample(text, "sftpkit_request_duration_seconds_bucket{type=\"stat\",le=\"+Inf\"}"), 4);
    assert_non_null(strstr(text, "sftpkit_request_duration_seconds_sum{type=\"stat\"} 20.000201\n"));
    assert_int_equal(sample(text, "sftpkit_requests_total{type=\"stat\",status=\"no_such_file\"}"), 2);
    assert_int_equal(sample(text, "sftpkit_requests_total{type=\"stat\",status=\"ok\"}"), 2);
    /* unseen types are not listed at all */
    assert_null(strstr(text, "type=\"rename\""));
    sftpkit_free(text);
    sftpkit_server_free(s);
}

static void test_out_of_table_values(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    sfk_metrics_request(s, 200, 8, 1); /* EXTENDED, OP_UNSUPPORTED */
    sfk_metrics_request(s, 99, 31, 1); /* an unknown type and a v6 status */
    sfk_metrics_login(s, SFK_LOGIN_KBDINT, SFK_LOGIN_PARTIAL);
    sfk_metrics_login(s, (sfk_login_method)7, SFK_LOGIN_SUCCESS); /* ignored */
    sfk_metrics_connection_refused(s, SFK_REFUSED_PROXY);
    sfk_metrics_connection_accepted(s);
    sfk_metrics_connection_accepted(s);
    sfk_metrics_connection_closed(s);
    for (int i = 0; i < 40; i++) { /* 32 names fit; the rest are "other" */
        static char names[40][16];
        snprintf(names[i], sizeof names[i], "action_%d", i);
        sfk_metrics_admission(s, names[i]);
    }
    char *text = prom(s);
    assert_int_equal(sample(text, "sftpkit_requests_total{type=\"extended\",status=\"op_unsupported\"}"), 1);
    assert_int_equal(sample(text, "sftpkit_requests_total{type=\"unknown\",status=\"other\"}"), 1);
    assert_int_equal(sample(text, "sftpkit_logins_total{method=\"keyboard-interactive\",result=\"partial\"}"), 1);
    assert_int_equal(sample(text, "sftpkit_connections_refused_total{reason=\"proxy_protocol\"}"), 1);
    assert_int_equal(sample(text, "sftpkit_connections_accepted_total"), 2);
    assert_int_equal(sample(text, "sftpkit_connections_active"), 1);
    assert_int_equal(sample(text, "sftpkit_admission_actions_total{action=\"action_31\"}"), 1);
    assert_int_equal(sample(text, "sftpkit_admission_actions_total{action=\"action_32\"}"), -1);
    assert_int_equal(sample(text, "sftpkit_admission_actions_total{action=\"other\"}"), 8);
    sftpkit_free(text);
    char *json = NULL;
    assert_int_equal(sftpkit_server_metrics_json(s, &json), 0);
    assert_non_null(strstr(json, "\"connections_accepted\":2,\"connections_active\":1"));
    assert_non_null(strstr(json, "\"keyboard-interactive\":{\"success\":0,\"partial\":1,\"failure\":0}"));
    assert_non_null(strstr(json, "\"extended\":{\"status\":{\"op_unsupported\":1}"));
    assert_non_null(strstr(json, "\"other\":8}}"));
    sftpkit_free(json);
    sftpkit_server_free(s);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(sftpkit_server_metrics_prometheus(NULL, &out), SFTPKIT_ERROR_INVALID_PARAMETER);
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_metrics_json(s, NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
    sfk_metrics_request(NULL, 5, 0, 1); /* the engine's unit tests run without a server */
    sfk_metrics_admission(NULL, "x");
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_updates_are_exact),
        cmocka_unit_test(test_histogram_edges_and_cumulative_buckets),
        cmocka_unit_test(test_out_of_table_values),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
