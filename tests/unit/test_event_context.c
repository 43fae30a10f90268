/* Per-request event context and event subscription (api/context.c, api/events.c).
 *
 * The concurrency cases make two threads' handlers overlap on purpose (a barrier inside the
 * handler: both have written their value before either reads it back), so with server-wide
 * storage of key_* / client_file_entry_* they fail every time (checked by pointing
 * sfk_value_slot back at s->values: both cases failed). Label: unit + concurrency (TSan). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/context.h"
#include "api/errors.h"
#include "api/events.h"
#include "api/events_gen.h"
#include "api/props.h"
#include "api/server.h"
#include "sftpkit/sftpkit.h"
#include "sftpkit/sftpkit_consts.h"

#define THREADS 2

static pthread_barrier_t inside; /* every handler has written its value */

typedef struct {
    sftpkit_server *s;
    int64_t conn;
    char seen[128]; /* what the handler read back after the barrier */
    char seen_key[128];
    char seen_param[128];
} worker;

static worker workers[THREADS];

/* on_find_next: write this connection's entry name, wait for the other handler to do the same,
 * read it back. on_auth_public_key: read key_fingerprint_sha256 and the new parameter after the
 * barrier. */
static int handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user;
    int64_t conn = 0;
    sftpkit_event_get_int(ev, "connection_id", &conn);
    worker *w = NULL;
    char *mine = NULL;
    char name[64];
    snprintf(name, sizeof name, "entry-of-%lld", (long long)conn);
    if (id == SFTPKIT_EVENT_ON_FIND_NEXT) {
        assert_int_equal(sftpkit_server_set_client_file_entry_name(s, name), 0);
        pthread_barrier_wait(&inside);
        assert_int_equal(sftpkit_server_get_client_file_entry_name(s, &mine), 0);
    } else if (id == SFTPKIT_EVENT_ON_AUTH_PUBLIC_KEY) {
        pthread_barrier_wait(&inside);
        assert_int_equal(sftpkit_server_get_key_fingerprint_sha256(s, &mine), 0);
    }
    /* the worker that fired this event, found by its connection id */
    for (int i = 0; i < THREADS; i++)
        if (workers[i].conn == conn)
            w = &workers[i];
    assert_non_null(w);
    snprintf(w->seen, sizeof w->seen, "%s", mine ? mine : "");
    sftpkit_free(mine);
    if (id == SFTPKIT_EVENT_ON_AUTH_PUBLIC_KEY) {
        char *p = NULL;
        assert_int_equal(sftpkit_event_get_str(ev, "key_fingerprint_sha256", &p), 0);
        snprintf(w->seen_param, sizeof w->seen_param, "%s", p);
        sftpkit_free(p);
    }
    return 0;
}

static void *find_worker(void *arg)
{
    worker *w = arg;
    int64_t action = SFTPKIT_OPERATION_STATUS_OSTOK;
    sfk_fire_on_find_next(w->s, w->conn, "h", &action);
    return NULL;
}

static void *auth_worker(void *arg)
{
    worker *w = arg;
    char fp[64];
    snprintf(fp, sizeof fp, "SHA256:key-of-%lld", (long long)w->conn);
    /* what ssh/auth.c does for a real login */
    sfk_evctx_frame f;
    sfk_evctx_push_prepared(w->s, &f);
    sfk_prop_put_str(w->s, SFK_P_KEY_FINGERPRINT_SHA256, -1, fp);
    int accept = 0;
    sfk_fire_on_auth_public_key(w->s, w->conn, "alice", &accept, "ssh-ed25519", fp, "ssh-ed25519 AAAA");
    sfk_evctx_pop(&f);
    return NULL;
}

static sftpkit_server *server_with_handler(void)
{
    sftpkit_server *s = sftpkit_server_new();
    assert_non_null(s);
    assert_int_equal(sftpkit_server_set_event_handler(s, handler, NULL, NULL), 0);
    return s;
}

static void run_workers(sftpkit_server *s, void *(*fn)(void *))
{
    pthread_t t[THREADS];
    pthread_barrier_init(&inside, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].s = s;
        workers[i].conn = 100 + i;
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, &workers[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&inside);
}

static void test_file_entry_belongs_to_the_firing_request(void **state)
{
    (void)state;
    sftpkit_server *s = server_with_handler();
    run_workers(s, find_worker);
    assert_string_equal(workers[0].seen, "entry-of-100");
    assert_string_equal(workers[1].seen, "entry-of-101");
    /* outside any handler the property reads as its default on this thread */
    char *name = NULL;
    assert_int_equal(sftpkit_server_get_client_file_entry_name(s, &name), 0);
    assert_string_equal(name, "");
    sftpkit_free(name);
    sftpkit_server_free(s);
}

static void test_offered_key_belongs_to_its_login(void **state)
{
    (void)state;
    sftpkit_server *s = server_with_handler();
    run_workers(s, auth_worker);
    assert_string_equal(workers[0].seen, "SHA256:key-of-100");
    assert_string_equal(workers[1].seen, "SHA256:key-of-101");
    assert_string_equal(workers[0].seen_param, "SHA256:key-of-100");
    assert_string_equal(workers[1].seen_param, "SHA256:key-of-101");
    char *fp = NULL;
    assert_int_equal(sftpkit_server_get_key_fingerprint_sha256(s, &fp), 0);
    assert_string_equal(fp, "");
    sftpkit_free(fp);
    sftpkit_server_free(s);
}

/* A value set on an application thread stays on that thread and that server. */
static void test_base_frame_is_per_thread_and_per_server(void **state)
{
    (void)state;
    sftpkit_server *a = sftpkit_server_new(), *b = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_client_file_entry_size(a, 77), 0);
    int64_t v = 0;
    assert_int_equal(sftpkit_server_get_client_file_entry_size(a, &v), 0);
    assert_int_equal(v, 77);
    assert_int_equal(sftpkit_server_get_client_file_entry_size(b, &v), 0);
    assert_int_not_equal(v, 77); /* another server: its own default */
    sftpkit_server_free(a);
    sftpkit_server_free(b);
}

static int seen_events;

static int count_handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user, (void)s, (void)id, (void)ev;
    seen_events++;
    return 0;
}

static void test_subscription(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    int on = 0;
    assert_int_equal(sftpkit_server_get_event_subscribed(s, SFTPKIT_EVENT_ON_CONNECT, &on), 0);
    assert_int_equal(on, 1); /* every event starts subscribed: a lone handler gets everything */
    assert_int_equal(sftpkit_server_set_event_handler(s, count_handler, NULL, NULL), 0);
    seen_events = 0;
    assert_int_equal(sfk_fire_on_connect(s, 1, "127.0.0.1", 1), 1);
    assert_int_equal(sftpkit_server_set_event_subscribed(s, SFTPKIT_EVENT_ON_CONNECT, 0), 0);
    assert_int_equal(sftpkit_server_get_event_subscribed(s, SFTPKIT_EVENT_ON_CONNECT, &on), 0);
    assert_int_equal(on, 0);
    assert_int_equal(sfk_fire_on_connect(s, 1, "127.0.0.1", 1), 0); /* "no handler" to the core */
    assert_int_equal(sfk_fire_on_disconnect(s, 1), 1);              /* others still arrive */
    assert_int_equal(seen_events, 2);
    assert_int_equal(sfk_event_wanted(s, SFTPKIT_EVENT_ON_CONNECT), 0);
    assert_int_equal(sfk_event_wanted(s, SFTPKIT_EVENT_ON_DISCONNECT), 1);
    /* bad input: a clear error and no change */
    assert_int_equal(sftpkit_server_set_event_subscribed(s, 0, 1), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_set_event_subscribed(s, SFTPKIT_EVENT_COUNT + 1, 1),
                     SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_get_event_subscribed(s, -3, &on), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_get_event_subscribed(NULL, 1, &on), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_set_event_subscribed(s, SFTPKIT_EVENT_ON_CONNECT, 1), 0);
    assert_int_equal(sfk_fire_on_connect(s, 1, "127.0.0.1", 1), 1);
    sftpkit_server_free(s);
}

static char described[256];

/* Reads the description only after an API call that resets the thread's last error. */
static int error_handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user;
    if (id != SFTPKIT_EVENT_ON_ERROR)
        return 0;
    int64_t port = 0;
    sftpkit_server_get_port(s, &port); /* sfk_ok(): clears the last-error message */
    char *d = NULL;
    assert_int_equal(sftpkit_event_get_str(ev, "description", &d), 0);
    snprintf(described, sizeof described, "%s", d);
    sftpkit_free(d);
    return 0;
}

static void test_error_description_is_an_owned_copy(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_event_handler(s, error_handler, NULL, NULL), 0);
    sfk_error(SFTPKIT_ERROR_IO, "the disk is on fire");
    described[0] = '\0';
    /* as connection.c does: the description points into the last-error buffer */
    sfk_fire_on_error(s, sftpkit_last_error_code(), sftpkit_last_error_message());
    assert_string_equal(described, "the disk is on fire");
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_entry_belongs_to_the_firing_request),
        cmocka_unit_test(test_offered_key_belongs_to_its_login),
        cmocka_unit_test(test_base_frame_is_per_thread_and_per_server),
        cmocka_unit_test(test_subscription),
        cmocka_unit_test(test_error_description_is_an_owned_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
