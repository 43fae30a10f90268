/* The three ABI additions the language providers build on (issue 15): a handler's status message
 * in the STATUS reply (failures only, never leaking into another request's reply),
 * get_client_buffer_into (size query, too small a buffer, exact copy), and the log handler
 * (levels, LogLevel filtering, replacement releasing the old user data). */
#include "test_sftp_helpers.h"

#include <pthread.h>

#include "api/events.h"
#include "api/status_message.h"
#include "sftpkit/sftpkit_consts.h"
#include "util/log.h"

#define CONN 7

static struct {
    const char *abort_message; /* on_before_create_directory: fraAbort with this text */
    int abort;
    const char *open_message; /* on_open_file: a text on a request that succeeds */
    char written[64];
    size_t written_len;
    size_t size_asked;
    int small_rc;
    size_t small_len;
    int exact_rc;
} h;

static int handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user;
    if (id == SFTPKIT_EVENT_ON_BEFORE_CREATE_DIRECTORY && h.abort) {
        sftpkit_event_set_int(ev, "action", SFTPKIT_FILE_REQUEST_ACTION_FRAABORT);
        if (h.abort_message)
            sftpkit_event_set_status_message(ev, h.abort_message);
    } else if (id == SFTPKIT_EVENT_ON_BEFORE_UPLOAD_FILE) {
        sftpkit_event_set_int(ev, "action", SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM);
    } else if (id == SFTPKIT_EVENT_ON_OPEN_FILE) {
        if (h.open_message)
            sftpkit_event_set_status_message(ev, h.open_message);
    } else if (id == SFTPKIT_EVENT_ON_WRITE_FILE) {
        char *handle = NULL;
        sftpkit_event_get_str(ev, "handle", &handle);
        sftpkit_server_get_client_buffer_into(s, CONN, handle, NULL, 0, &h.size_asked);
        uint8_t small[2];
        h.small_len = 0;
        h.small_rc = sftpkit_server_get_client_buffer_into(s, CONN, handle, small, sizeof small, &h.small_len);
        size_t n = 0;
        h.exact_rc = sftpkit_server_get_client_buffer_into(s, CONN, handle, (uint8_t *)h.written, h.size_asked, &n);
        h.written_len = n;
        sftpkit_free(handle);
    }
    return 0;
}

static uint32_t mkdir_with_text(tc *t, const char *path, char *text, size_t cap)
{
    uint32_t id = tc_begin(t, SSH_FXP_MKDIR);
    tc_cstr(t, path);
    tc_u32(t, 0);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    uint32_t code = sfk_rd_u32(&t->rd);
    tc_rd_cstr(t, text, cap);
    return code;
}

static void test_status_message_reaches_the_failure_reply_only(void **state)
{
    (void)state;
    memset(&h, 0, sizeof h);
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_event_handler(s, handler, NULL, NULL), 0);
    tc *t = tc_new_with(s, NULL, CONN);
    assert_int_equal(tc_init(t, 3), 3);
    char text[2048];

    h.abort = 1;
    h.abort_message = "no directories for you";
    assert_int_equal(mkdir_with_text(t, "d1", text, sizeof text), SSH_FX_PERMISSION_DENIED);
    assert_string_equal(text, "no directories for you");

    h.abort_message = NULL; /* the next refusal has no text of its own: the standard one */
    assert_int_equal(mkdir_with_text(t, "d2", text, sizeof text), SSH_FX_PERMISSION_DENIED);
    assert_string_not_equal(text, "no directories for you");
    assert_true(text[0] != '\0');

    /* a text on a request that succeeds (a HANDLE reply) never reaches a later reply */
    h.open_message = "left behind";
    tc_handle fh;
    assert_int_equal(tc_open(t, "/f", SSH_FXF_WRITE | SSH_FXF_CREAT, &fh), 0);
    assert_int_equal(mkdir_with_text(t, "d3", text, sizeof text), SSH_FX_PERMISSION_DENIED);
    assert_string_not_equal(text, "left behind");

    /* long text: cut to at most 1024 bytes, never inside a UTF-8 sequence */
    char long_text[1500];
    size_t n = 0;
    while (n + 2 < sizeof long_text - 1) {
        long_text[n++] = (char)0xC3; /* U+00E9, two bytes */
        long_text[n++] = (char)0xA9;
    }
    long_text[n] = '\0';
    h.abort_message = long_text + 1; /* odd start: a 2-byte sequence would straddle byte 1024 */
    assert_int_equal(mkdir_with_text(t, "d4", text, sizeof text), SSH_FX_PERMISSION_DENIED);
    assert_true(strlen(text) <= 1024 && strlen(text) >= 1020);
    assert_true(((unsigned char)text[strlen(text) - 1]) == 0xC3 ? 0 : 1); /* ends after a full sequence */
    assert_int_equal(sftpkit_event_set_status_message(NULL, "x"), SFTPKIT_ERROR_INVALID_PARAMETER);

    tc_free(t);
    sftpkit_server_free(s);
}

static void test_get_client_buffer_into(void **state)
{
    (void)state;
    memset(&h, 0, sizeof h);
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_event_handler(s, handler, NULL, NULL), 0);
    tc *t = tc_new_with(s, NULL, CONN);
    assert_int_equal(tc_init(t, 3), 3);
    tc_handle fh;
    assert_int_equal(tc_open(t, "/up", SSH_FXF_WRITE | SSH_FXF_CREAT, &fh), 0);
    assert_int_equal(tc_write(t, &fh, 0, "hello world", 11), 0);
    assert_int_equal(h.size_asked, 11);
    assert_int_equal(h.small_rc, SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(h.small_len, 11); /* the size, even when nothing was copied */
    assert_int_equal(h.exact_rc, 0);
    assert_int_equal(h.written_len, 11);
    assert_memory_equal(h.written, "hello world", 11);
    size_t len = 99;
    uint8_t buf[4];
    /* outside a write: the state is wrong (not a crash, not stale data) */
    assert_int_not_equal(sftpkit_server_get_client_buffer_into(s, CONN, fh.s, buf, sizeof buf, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(sftpkit_server_get_client_buffer_into(s, CONN, fh.s, buf, sizeof buf, NULL),
                     SFTPKIT_ERROR_INVALID_PARAMETER);
    tc_free(t);
    sftpkit_server_free(s);
}

static struct {
    int calls, level, destroyed;
    char module[32], message[256];
} lg;

static void log_handler(void *user, sftpkit_server *s, int level, const char *module, const char *message)
{
    (void)s;
    assert_ptr_equal(user, &lg);
    lg.calls++;
    lg.level = level;
    snprintf(lg.module, sizeof lg.module, "%s", module);
    snprintf(lg.message, sizeof lg.message, "%s", message);
}

static void log_destroy(void *user)
{
    assert_ptr_equal(user, &lg);
    lg.destroyed++;
}

static void test_log_handler(void **state)
{
    (void)state;
    memset(&lg, 0, sizeof lg);
    sftpkit_server *s = sftpkit_server_new();
    char *out = NULL;
    assert_int_equal(sftpkit_server_config(s, "LogLevel=info", &out), 0);
    sftpkit_free(out);
    assert_int_equal(sftpkit_server_set_log_handler(s, log_handler, &lg, log_destroy), 0);
    sfk_log(s, SFK_LOG_INFO, "server", "hello %d", 5);
    assert_int_equal(lg.calls, 1);
    assert_int_equal(lg.level, SFK_LOG_INFO);
    assert_string_equal(lg.module, "server");
    assert_string_equal(lg.message, "hello 5"); /* no prefix: the application's logger adds its own */
    sfk_log(s, SFK_LOG_DEBUG, "server", "below LogLevel");
    assert_int_equal(lg.calls, 1);
    sfk_log(s, SFK_LOG_WARNING, "ssh", "a warning");
    assert_int_equal(lg.calls, 2);
    assert_int_equal(lg.level, SFK_LOG_WARNING);
    /* replacing the handler releases the old user data once; removing it too */
    assert_int_equal(sftpkit_server_set_log_handler(s, log_handler, &lg, log_destroy), 0);
    assert_int_equal(lg.destroyed, 1);
    assert_int_equal(sftpkit_server_set_log_handler(s, NULL, NULL, NULL), 0);
    assert_int_equal(lg.destroyed, 2);
    sfk_log(s, SFK_LOG_WARNING, "ssh", "to the console now");
    assert_int_equal(lg.calls, 2);
    assert_int_equal(sftpkit_server_set_log_handler(s, log_handler, &lg, log_destroy), 0);
    sftpkit_server_free(s); /* frees the handler: destroy runs */
    assert_int_equal(lg.destroyed, 3);
    assert_int_equal(sftpkit_server_set_log_handler(NULL, log_handler, &lg, NULL), SFTPKIT_ERROR_INVALID_PARAMETER);
}

/* A thread that ends with a message still pending (say an auth handler's, with no SFTP request
 * after it) frees it at exit: under ASan's leak check this test fails without the key's
 * destructor. Other threads never see that message. */
static void *pending_then_exit(void *arg)
{
    (void)arg;
    sftpkit_event ev;
    sfk_event_init(&ev, SFTPKIT_EVENT_ON_AUTH_PASSWORD);
    assert_int_equal(sftpkit_event_set_status_message(&ev, "pending at thread exit"), 0);
    sfk_status_message_adopt(&ev);
    sfk_event_cleanup(&ev);
    return (void *)(sfk_status_message_pending() && !strcmp(sfk_status_message_pending(), "pending at thread exit")
                        ? (void *)1
                        : NULL);
}

static void test_pending_message_is_per_thread_and_freed_at_exit(void **state)
{
    (void)state;
    pthread_t th;
    void *seen = NULL;
    assert_int_equal(pthread_create(&th, NULL, pending_then_exit, NULL), 0);
    assert_int_equal(pthread_join(th, &seen), 0);
    assert_non_null(seen);                     /* the thread saw its own message */
    assert_null(sfk_status_message_pending()); /* this thread never did */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_message_reaches_the_failure_reply_only),
        cmocka_unit_test(test_get_client_buffer_into),
        cmocka_unit_test(test_log_handler),
        cmocka_unit_test(test_pending_message_is_per_thread_and_freed_at_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
