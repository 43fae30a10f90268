/* The engine–host boundary (core/src/sftp/host.h): the engine runs against a FAKE host, with no
 * sftpkit_server at all — it fires its events at the fake, which records and answers them, and
 * takes its settings from the fake once. And with the real server's host, a property changed
 * after a session started applies to the next session only, while the documented live setting
 * (NotifyOnFileOperations, read at each open) stays live. */
#include "test_sftp_helpers.h"

#include "sftp/host.h"

typedef struct {
    char log[4096];          /* "name(param=value,...);" per fired event */
    int64_t action;          /* the answer to every by-ref "action" (FileRequestAction) */
    int64_t status;          /* 0: leave operation_status alone; else the answer */
    int settings_calls;      /* how often the engine asked for its settings */
    sfk_session_settings st; /* what it is given */
    int notify;              /* NotifyOnFileOperations, as the host answers it right now */
} fake_host;

static void fake_log(fake_host *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fake_log(fake_host *f, const char *fmt, ...)
{
    size_t used = strlen(f->log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->log + used, sizeof f->log - used, fmt, ap);
    va_end(ap);
}

/* Records the event with its parameters by name (the public event descriptions), answers it. */
static int fake_fire(void *ctx, int event_id, sfk_host_value *v, int n)
{
    fake_host *f = ctx;
    assert_int_equal(n, sftpkit_event_param_count(event_id));
    fake_log(f, "%s(", sftpkit_event_name(event_id));
    for (int i = 0; i < n; i++) {
        const char *name;
        int type, byref;
        assert_int_equal(sftpkit_event_param_info(event_id, i, &name, &type, &byref), 0);
        if (type == 2) /* string (sftpkit_event_param_info) */
            fake_log(f, "%s=%s,", name, v[i].s ? v[i].s : "");
        else
            fake_log(f, "%s=%lld,", name, (long long)v[i].i);
        if (byref && !strcmp(name, "action"))
            v[i].i = f->action;
        if (byref && !strcmp(name, "operation_status") && f->status)
            v[i].i = f->status;
    }
    fake_log(f, ");");
    return 1;
}

static void fake_settings(void *ctx, sfk_session_settings *out)
{
    fake_host *f = ctx;
    f->settings_calls++;
    *out = f->st;
}

static int fake_notify(void *ctx)
{
    return ((fake_host *)ctx)->notify;
}

static const sfk_host_ops fake_ops = {
    .fire = fake_fire,
    .settings = fake_settings,
    .notify_on_file_operations = fake_notify,
};

static fake_host fake;

static void reset_fake(void)
{
    memset(&fake, 0, sizeof fake);
    sfk_session_settings_defaults(&fake.st);
    fake.action = SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO;
}

/* An engine on a fresh root whose host is the fake: no server anywhere. */
static tc *start(void)
{
    tc *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->seed = 12345;
    tc_make_dirs(t);
    sfk_host host = {&fake_ops, &fake};
    sfk_engine_config cfg = {.host = &host, .connection_id = 7, .username = "alice", .root = t->root};
    t->e = sfk_engine_new(&cfg); /* copies the host: `host` may go out of scope */
    assert_non_null(t->e);
    return t;
}

static void expect_fake_log(const char *want)
{
    if (strcmp(fake.log, want))
        fail_msg("host log\n got: %s\nwant: %s", fake.log, want);
    fake.log[0] = '\0';
}

static void test_events_reach_a_fake_host(void **state)
{
    (void)state;
    reset_fake();
    tc *t = start();
    assert_int_equal(tc_init(t, 3), 3);
    tc_put_file(t->root, "f", "data");

    /* the host refuses: nothing is removed, the client is told why */
    fake.action = SFTPKIT_FILE_REQUEST_ACTION_FRAABORT;
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "/d/../f"), SSH_FX_PERMISSION_DENIED);
    assert_true(tc_host_exists(t->root, "f"));
    /* on_after_remove sees the refusal (ostAccessDenied) */
    expect_fake_log("on_before_remove(connection_id=7,path=/f,action=1,resolved_path=/f,);"
                    "on_after_remove(connection_id=7,path=/f,operation_status=3,);");

    /* the host lets the server do it, then turns the success into a failure in on_after_remove */
    fake.action = SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO;
    fake.status = SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED;
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "/f"), SSH_FX_PERMISSION_DENIED);
    assert_false(tc_host_exists(t->root, "f"));
    expect_fake_log("on_before_remove(connection_id=7,path=/f,action=1,resolved_path=/f,);"
                    "on_after_remove(connection_id=7,path=/f,operation_status=1,);");
    tc_free(t);
}

static void test_settings_come_from_the_host_once(void **state)
{
    (void)state;
    reset_fake();
    fake.st.read_only = 1;
    fake.st.max_version = 3;
    tc *t = start();
    assert_int_equal(fake.settings_calls, 1);
    assert_int_equal(tc_init(t, 6), 3); /* the host's version range */
    tc_handle h;
    assert_int_equal(tc_open(t, "w", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), SSH_FX_PERMISSION_DENIED);
    assert_false(tc_host_exists(t->root, "w"));
    /* the snapshot is the session's: changing what the host would answer changes nothing now */
    fake.st.read_only = 0;
    assert_int_equal(tc_open(t, "w", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), SSH_FX_PERMISSION_DENIED);
    assert_int_equal(fake.settings_calls, 1);
    tc_free(t);
}

static void test_notify_on_file_operations_stays_live(void **state)
{
    (void)state;
    reset_fake();
    tc *t = start();
    assert_int_equal(tc_init(t, 3), 3);
    tc_handle h;
    assert_int_equal(tc_open(t, "n", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    assert_null(strstr(fake.log, "on_notification"));
    fake.notify = 1; /* documented as read when a file is opened: the next open sees it */
    fake.log[0] = '\0';
    assert_int_equal(tc_open(t, "n", SSH_FXF_READ, &h), 0);
    assert_non_null(strstr(fake.log, "on_notification(event_id=FileOpen,event_param=ConnectionID=7;Path=/n;"));
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    assert_non_null(strstr(fake.log, "on_notification(event_id=FileClose,"));
    tc_free(t);
}

/* With the server's own host: read_only and the version range changed after a session started
 * apply to the sessions that start after the change. */
static void test_server_settings_apply_to_new_sessions(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_non_null(s);
    tc *before = tc_new_with(s, NULL, 1), *before_v = tc_new_with(s, "", 2);
    assert_int_equal(sftpkit_server_set_read_only(s, 1), 0);
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 3), 0);
    tc *after = tc_new_with(s, NULL, 3), *after_v = tc_new_with(s, "", 4);

    assert_int_equal(tc_init(before_v, 6), 6);
    assert_int_equal(tc_init(after_v, 6), 3);
    assert_int_equal(tc_init(before, 3), 3);
    assert_int_equal(tc_init(after, 3), 3);
    tc_handle h;
    assert_int_equal(tc_open(before, "w", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    assert_int_equal(tc_close(before, &h), SSH_FX_OK);
    assert_true(tc_host_exists(before->root, "w"));
    assert_int_equal(tc_open(after, "w", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), SSH_FX_PERMISSION_DENIED);
    assert_false(tc_host_exists(after->root, "w"));

    tc_free(before_v);
    tc_free(after_v);
    tc_free(before);
    tc_free(after);
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_reach_a_fake_host),
        cmocka_unit_test(test_settings_come_from_the_host_once),
        cmocka_unit_test(test_notify_on_file_operations_stays_live),
        cmocka_unit_test(test_server_settings_apply_to_new_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
