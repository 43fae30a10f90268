/* Hand-written tests of the API's error model, ownership rules, handler lifecycle, config and
 * logging: what the generated per-property tests do not cover. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs, in its own block so clang-format's sort keeps it there */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/events.h"
#include "api/events_gen.h"
#include "api/props.h"
#include "sftpkit/sftpkit.h"
#include "util/log.h"

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(sftpkit_version(), SFTPKIT_VERSION_STRING);
    char *name = NULL;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_get_ssh_settings_software_name(s, &name), 0);
    assert_string_equal(name, "sftpkit_" SFTPKIT_VERSION_STRING); /* our banner, not the reference's */
    sftpkit_free(name);
    sftpkit_server_free(s);
}

static void *fail_in_thread(void *arg)
{
    sftpkit_server *s = arg;
    int rc = sftpkit_server_set_port(s, -5);
    return (void *)(intptr_t)(rc == SFTPKIT_ERROR_INVALID_VALUE && sftpkit_last_error_code() == rc);
}

static void test_last_error_is_per_thread_and_cleared_by_success(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_port(s, 70000), SFTPKIT_ERROR_INVALID_VALUE);
    assert_non_null(strstr(sftpkit_last_error_message(), "port"));
    assert_non_null(strstr(sftpkit_last_error_message(), "70000"));
    pthread_t t;
    void *ok = NULL;
    pthread_create(&t, NULL, fail_in_thread, s);
    pthread_join(t, &ok);
    assert_true(ok);
    /* the other thread's failure did not overwrite ours */
    assert_non_null(strstr(sftpkit_last_error_message(), "70000"));
    int64_t port;
    assert_int_equal(sftpkit_server_get_port(s, &port), 0);
    assert_int_equal(port, 22);
    assert_int_equal(sftpkit_last_error_code(), 0);
    assert_string_equal(sftpkit_last_error_message(), "");
    sftpkit_server_free(s);
}

static void test_null_arguments_are_errors_not_crashes(void **state)
{
    (void)state;
    int64_t v;
    char *str;
    assert_int_equal(sftpkit_server_get_port(NULL, &v), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_set_port(NULL, 1), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_get_host(NULL, &str), SFTPKIT_ERROR_INVALID_PARAMETER);
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_get_port(s, NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_set_host(s, NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_config(s, NULL, &str), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_config(NULL, "Tag", &str), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_set_event_handler(NULL, NULL, NULL, NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
    sftpkit_free(NULL);
    sftpkit_server_free(NULL);
    sftpkit_server_free(s);
}

static void test_returned_strings_are_caller_owned_copies(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_base_dir(s, "/srv/data"), 0);
    char *a = NULL, *b = NULL;
    assert_int_equal(sftpkit_server_get_base_dir(s, &a), 0);
    a[0] = 'X'; /* scribbling on our copy must not change the property */
    assert_int_equal(sftpkit_server_get_base_dir(s, &b), 0);
    assert_string_equal(b, "/srv/data");
    assert_ptr_not_equal(a, b);
    sftpkit_free(a);
    sftpkit_free(b);
    sftpkit_server_free(s);
}

static void test_lists_keep_rows_when_resized(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_user_count(s, 2), 0);
    assert_int_equal(sftpkit_server_set_user_username(s, 0, "alice"), 0);
    assert_int_equal(sftpkit_server_set_user_username(s, 1, "bob"), 0);
    assert_int_equal(sftpkit_server_set_user_count(s, 5), 0);
    char *name = NULL;
    assert_int_equal(sftpkit_server_get_user_username(s, 1, &name), 0);
    assert_string_equal(name, "bob");
    sftpkit_free(name);
    assert_int_equal(sftpkit_server_get_user_username(s, 4, &name), 0);
    assert_string_equal(name, "");
    sftpkit_free(name);
    assert_int_equal(sftpkit_server_set_user_count(s, 1), 0);
    assert_int_equal(sftpkit_server_get_user_username(s, 1, &name), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_set_user_count(s, -1), SFTPKIT_ERROR_INVALID_VALUE);
    int64_t n;
    assert_int_equal(sftpkit_server_get_user_count(s, &n), 0);
    assert_int_equal(n, 1);
    sftpkit_server_free(s);
}

static void test_sftp_version_pair_stays_ordered(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 3), 0);
    assert_int_equal(sftpkit_server_set_min_sftp_version(s, 4), SFTPKIT_ERROR_INVALID_VALUE);
    assert_int_equal(sftpkit_server_set_min_sftp_version(s, 3), 0);
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 2), SFTPKIT_ERROR_INVALID_VALUE);
    int64_t v;
    sftpkit_server_get_max_sftp_version(s, &v);
    assert_int_equal(v, 3);
    sftpkit_server_free(s);
}

static void test_algorithm_lists(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_ssh_settings_encryption_algorithms(s, "-all;aes128-gcm,aes256-ctr"), 0);
    assert_int_equal(sftpkit_server_set_ssh_settings_encryption_algorithms(s, "twofish256-cbc"),
                     SFTPKIT_ERROR_INVALID_VALUE);
    assert_non_null(strstr(sftpkit_last_error_message(), "twofish256-cbc"));
    assert_non_null(strstr(sftpkit_last_error_message(), "not supported"));
    assert_int_equal(sftpkit_server_set_ssh_settings_mac_algorithms(s, "hmac-sha2-256,hmac-bogus"),
                     SFTPKIT_ERROR_INVALID_VALUE);
    assert_non_null(strstr(sftpkit_last_error_message(), "hmac-bogus"));
    assert_non_null(strstr(sftpkit_last_error_message(), "unknown"));
    char *v = NULL;
    sftpkit_server_get_ssh_settings_encryption_algorithms(s, &v);
    assert_string_equal(v, "-all;aes128-gcm,aes256-ctr");
    sftpkit_free(v);
    sftpkit_server_free(s);
}

/* ---- handler lifecycle ---------------------------------------------------------------------- */

static int destroyed;
static void count_destroy(void *user)
{
    (void)user;
    destroyed++;
}

static int noop_handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user, (void)s, (void)id, (void)ev;
    return 0;
}

static void test_destroy_user_runs_on_replace_remove_and_free(void **state)
{
    (void)state;
    destroyed = 0;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_event_handler(s, noop_handler, NULL, count_destroy), 0);
    assert_int_equal(sftpkit_server_set_event_handler(s, noop_handler, NULL, count_destroy), 0);
    assert_int_equal(destroyed, 1);
    assert_int_equal(sftpkit_server_set_event_handler(s, NULL, NULL, NULL), 0);
    assert_int_equal(destroyed, 2);
    assert_int_equal(sftpkit_server_set_event_handler(s, noop_handler, NULL, count_destroy), 0);
    sftpkit_server_free(s);
    assert_int_equal(destroyed, 3);
}

/* A handler that replaces itself mid-call: its user data must survive until the call returns. */
static int self_replacing(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)id, (void)ev;
    int *alive = user;
    sftpkit_server_set_event_handler(s, noop_handler, NULL, NULL);
    assert_int_equal(*alive, 1); /* not destroyed yet */
    assert_int_equal(destroyed, 0);
    return 0;
}

static void mark_dead(void *user)
{
    *(int *)user = 0;
    destroyed++;
}

static void test_replacing_handler_during_a_call_is_safe(void **state)
{
    (void)state;
    destroyed = 0;
    int alive = 1;
    sftpkit_server *s = sftpkit_server_new();
    sftpkit_server_set_event_handler(s, self_replacing, &alive, mark_dead);
    assert_int_equal(sfk_fire_on_disconnect(s, 7), 1);
    assert_int_equal(alive, 0);
    assert_int_equal(destroyed, 1);
    sftpkit_server_free(s);
}

/* Handlers may call back into the server (no SDK lock is held while they run). */
static int reentrant_handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user;
    int64_t cid = 0;
    assert_int_equal(sftpkit_event_get_int(ev, "connection_id", &cid), 0);
    assert_int_equal(id, SFTPKIT_EVENT_ON_AUTH_PASSWORD);
    assert_int_equal(sftpkit_server_set_port(s, 2000 + cid), 0);
    char *user_name = NULL;
    assert_int_equal(sftpkit_event_get_str(ev, "username", &user_name), 0);
    int64_t accept = -1;
    assert_int_equal(sftpkit_event_get_int(ev, "accept", &accept), 0);
    assert_int_equal(accept, 0); /* the library's own verdict comes in */
    sftpkit_event_set_int(ev, "accept", !strcmp(user_name, "alice"));
    sftpkit_free(user_name);
    return 0;
}

static void test_handler_may_call_back_and_overrule(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    sftpkit_server_set_event_handler(s, reentrant_handler, NULL, NULL);
    int accept = 0, force = 0;
    assert_int_equal(sfk_fire_on_auth_password(s, 5, "alice", "pw", &accept, &force), 1);
    assert_int_equal(accept, 1);
    int64_t port;
    sftpkit_server_get_port(s, &port);
    assert_int_equal(port, 2005);
    accept = 0;
    sfk_fire_on_auth_password(s, 6, "mallory", "pw", &accept, &force);
    assert_int_equal(accept, 0);
    sftpkit_server_free(s);
}

static void test_no_handler_keeps_the_verdict(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    int accept = 1;
    char *handle = strdup("h1");
    int64_t status = 1;
    assert_int_equal(sfk_fire_on_accept(s, "127.0.0.1", 4000, &accept), 0);
    assert_int_equal(accept, 1);
    assert_int_equal(sfk_fire_on_find_first(s, 1, "/", &status, &handle), 0);
    assert_string_equal(handle, "h1");
    free(handle);
    assert_int_equal(sfk_fire_on_accept(NULL, "x", 1, &accept), 0);
    sftpkit_server_free(s);
}

static void test_event_ids_and_names(void **state)
{
    (void)state;
    assert_int_equal(sftpkit_event_id("on_nothing"), -1);
    assert_int_equal(sftpkit_event_id(NULL), -1);
    assert_null(sftpkit_event_name(0));
    assert_null(sftpkit_event_name(SFTPKIT_EVENT_COUNT + 1));
    assert_int_equal(sftpkit_event_param_count(999), -1);
    assert_int_equal(sftpkit_last_error_code(), SFTPKIT_ERROR_INVALID_PARAMETER);
    const char *name;
    assert_int_equal(sftpkit_event_param_info(SFTPKIT_EVENT_ON_ACCEPT, 3, &name, NULL, NULL),
                     SFTPKIT_ERROR_INVALID_PARAMETER);
}

/* ---- config and do_action --------------------------------------------------------------------- */

static char *cfg(sftpkit_server *s, const char *setting)
{
    char *out = NULL;
    assert_int_equal(sftpkit_server_config(s, setting, &out), 0);
    return out;
}

static void test_config_syntax(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    const char *truthy[] = {"True", "true", "YES", "1"}, *falsy[] = {"False", "no", "NO", "0"};
    for (int i = 0; i < 4; i++) {
        char set[64];
        snprintf(set, sizeof set, "NotifyOnFileOperations=%s", truthy[i]);
        assert_int_equal(sftpkit_server_config(s, set, NULL), 0);
        char *v = cfg(s, "NotifyOnFileOperations");
        assert_string_equal(v, "True");
        sftpkit_free(v);
        snprintf(set, sizeof set, "notifyonfileoperations = %s", falsy[i]);
        assert_int_equal(sftpkit_server_config(s, set, NULL), 0);
        v = cfg(s, "NotifyOnFileOperations");
        assert_string_equal(v, "False");
        sftpkit_free(v);
    }
    assert_int_equal(sftpkit_server_config(s, "NoSuchSetting=1", NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_non_null(strstr(sftpkit_last_error_message(), "NoSuchSetting"));
    char *out = NULL;
    assert_int_equal(sftpkit_server_config(s, "NoSuchSetting", &out), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_config(s, "Tag", NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_config(s, "Tag=a=b", NULL), 0); /* the first '=' splits */
    char *v = cfg(s, "Tag");
    assert_string_equal(v, "a=b");
    sftpkit_free(v);
    /* keyed settings */
    assert_int_equal(sftpkit_server_config(s, "StaticIPAddress[example.org]=10.0.0.1", NULL), 0);
    assert_int_equal(sftpkit_server_config(s, "StaticIPAddress[other.org]=10.0.0.2", NULL), 0);
    v = cfg(s, "StaticIPAddress[example.org]");
    assert_string_equal(v, "10.0.0.1");
    sftpkit_free(v);
    assert_int_equal(sftpkit_server_config(s, "StaticIPAddress=1", NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_config(s, "Tag[x]=1", NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
    /* frozen while active */
    sfk_prop_put_int(s, SFK_P_ACTIVE, -1, 1);
    assert_int_equal(sftpkit_server_config(s, "DualStack=true", NULL), SFTPKIT_ERROR_INVALID_STATE);
    sfk_prop_put_int(s, SFK_P_ACTIVE, -1, 0);
    sftpkit_server_free(s);
}

static void test_do_action_unknown(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    char *out = NULL;
    assert_int_equal(sftpkit_server_do_action(s, "NoSuchAction", "", &out), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_non_null(strstr(sftpkit_last_error_message(), "NoSuchAction"));
    assert_null(out);
    sftpkit_server_free(s);
}

static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void test_logging_to_file_with_levels_and_flush_modes(void **state)
{
    (void)state;
    char path[] = "/tmp/sftpkit-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sftpkit_server *s = sftpkit_server_new();
    char set[128];
    snprintf(set, sizeof set, "LogFile=%s", path);
    assert_int_equal(sftpkit_server_config(s, set, NULL), 0);
    assert_int_equal(sftpkit_server_config(s, "LogDestination=file", NULL), 0);
    assert_int_equal(sftpkit_server_config(s, "LogDetails=level,module", NULL), 0);
    assert_int_equal(sftpkit_server_config(s, "LogLevel=info", NULL), 0);
    sfk_log(s, SFK_LOG_INFO, "test", "hello %d", 1);
    sfk_log(s, SFK_LOG_DEBUG, "test", "too detailed");
    assert_int_equal(count_lines(path, "[info] test: hello 1"), 1);
    assert_int_equal(count_lines(path, "too detailed"), 0);
    /* maxcount: nothing written until LogMaxEventCount lines are cached */
    assert_int_equal(sftpkit_server_config(s, "LogMaxEventCount=3", NULL), 0);
    assert_int_equal(sftpkit_server_config(s, "LogFlushMode=maxcount", NULL), 0);
    sfk_log(s, SFK_LOG_INFO, "test", "cached");
    sfk_log(s, SFK_LOG_INFO, "test", "cached");
    assert_int_equal(count_lines(path, "cached"), 0);
    sfk_log(s, SFK_LOG_INFO, "test", "cached");
    assert_int_equal(count_lines(path, "cached"), 3);
    /* filters */
    assert_int_equal(sftpkit_server_config(s, "LogFlushMode=immediate", NULL), 0);
    assert_int_equal(sftpkit_server_config(s, "LogFilters=exclude-module:noisy", NULL), 0);
    sfk_log(s, SFK_LOG_INFO, "noisy", "filtered out");
    assert_int_equal(count_lines(path, "filtered out"), 0);
    sftpkit_server_free(s);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_last_error_is_per_thread_and_cleared_by_success),
        cmocka_unit_test(test_null_arguments_are_errors_not_crashes),
        cmocka_unit_test(test_returned_strings_are_caller_owned_copies),
        cmocka_unit_test(test_lists_keep_rows_when_resized),
        cmocka_unit_test(test_sftp_version_pair_stays_ordered),
        cmocka_unit_test(test_algorithm_lists),
        cmocka_unit_test(test_destroy_user_runs_on_replace_remove_and_free),
        cmocka_unit_test(test_replacing_handler_during_a_call_is_safe),
        cmocka_unit_test(test_handler_may_call_back_and_overrule),
        cmocka_unit_test(test_no_handler_keeps_the_verdict),
        cmocka_unit_test(test_event_ids_and_names),
        cmocka_unit_test(test_config_syntax),
        cmocka_unit_test(test_do_action_unknown),
        cmocka_unit_test(test_logging_to_file_with_levels_and_flush_modes),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
