/* start/stop/free from many threads at once and from inside handlers (server/listener.c).
 *
 * Before the lifecycle claim, two stop() calls at once both joined the accept thread (undefined
 * behaviour: in practice the second pthread_join hung forever) and a handler's stop() while the
 * application stopped joined threads twice. These cases hung then; ctest's TIMEOUT turns a hang
 * into a failure. Label: unit + concurrency (run under TSan too). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sftpkit/sftpkit.h"
#include "sftpkit/sftpkit_consts.h"

#define STOPPERS 30

static sftpkit_server *started_server(void)
{
    sftpkit_server *s = sftpkit_server_new();
    assert_non_null(s);
    sftpkit_key *k = sftpkit_key_new();
    assert_int_equal(sftpkit_key_generate(k, "ssh-ed25519", 0), 0);
    int64_t handle = 0;
    sftpkit_key_get_handle(k, &handle);
    assert_int_equal(sftpkit_server_set_server_key_count(s, 1), 0);
    assert_int_equal(sftpkit_server_set_server_key_handle(s, 0, handle), 0);
    sftpkit_key_free(k);
    assert_int_equal(sftpkit_server_set_host(s, "127.0.0.1"), 0);
    assert_int_equal(sftpkit_server_set_port(s, 0), 0);
    assert_int_equal(sftpkit_server_start(s), 0);
    return s;
}

static int tcp_connect(sftpkit_server *s)
{
    int64_t port = 0;
    sftpkit_server_get_port(s, &port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static atomic_int stops_returned;
static atomic_int stop_errors;

static void *stopper(void *arg)
{
    if (sftpkit_server_stop(arg) != 0)
        atomic_fetch_add(&stop_errors, 1);
    atomic_fetch_add(&stops_returned, 1);
    return NULL;
}

static void run_stoppers(sftpkit_server *s)
{
    pthread_t t[STOPPERS];
    atomic_store(&stops_returned, 0);
    atomic_store(&stop_errors, 0);
    for (int i = 0; i < STOPPERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, stopper, s), 0);
    for (int i = 0; i < STOPPERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&stops_returned), STOPPERS);
    assert_int_equal(atomic_load(&stop_errors), 0);
}

static void assert_inactive(sftpkit_server *s)
{
    int active = 1;
    assert_int_equal(sftpkit_server_get_active(s, &active), 0);
    assert_int_equal(active, 0);
}

static void test_thirty_stops_at_once(void **state)
{
    (void)state;
    sftpkit_server *s = started_server();
    int fd = tcp_connect(s); /* a connection to close as well */
    run_stoppers(s);
    assert_inactive(s);
    close(fd);
    /* the server is reusable after the storm, and stopping twice more is harmless */
    assert_int_equal(sftpkit_server_start(s), 0);
    run_stoppers(s);
    assert_inactive(s);
    sftpkit_server_free(s);
}

/* on_connect's handler stops the server while the application stops it from 30 threads. */
static atomic_int handler_inside, handler_stop_rc = -1;

static int stop_in_handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user, (void)ev;
    if (id != SFTPKIT_EVENT_ON_CONNECT)
        return 0;
    atomic_store(&handler_inside, 1);
    usleep(20000); /* let the application's stops begin */
    atomic_store(&handler_stop_rc, sftpkit_server_stop(s));
    return 0;
}

static void test_stop_from_a_handler_during_application_stops(void **state)
{
    (void)state;
    sftpkit_server *s = started_server();
    atomic_store(&handler_inside, 0);
    atomic_store(&handler_stop_rc, -1);
    assert_int_equal(sftpkit_server_set_event_handler(s, stop_in_handler, NULL, NULL), 0);
    int fd = tcp_connect(s);
    while (!atomic_load(&handler_inside))
        usleep(1000);
    run_stoppers(s);
    assert_inactive(s);
    sftpkit_server_free(s); /* joins the handler's connection thread */
    assert_int_equal(atomic_load(&handler_stop_rc), 0);
    close(fd);
}

/* free from the application while a handler stops the server: free's own stop either runs first
 * (the handler's stop then returns at once) or waits for the handler's; nothing hangs or is
 * used after it is freed. */
static void test_free_while_a_handler_stops(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        sftpkit_server *s = started_server();
        atomic_store(&handler_inside, 0);
        assert_int_equal(sftpkit_server_set_event_handler(s, stop_in_handler, NULL, NULL), 0);
        int fd = tcp_connect(s);
        while (!atomic_load(&handler_inside))
            usleep(1000);
        usleep((useconds_t)round * 8000); /* before, during and after the handler's stop */
        sftpkit_server_free(s);
        close(fd);
    }
}

/* free() from inside handlers of the same server: on a connection thread (on_connect) and on the
 * accept thread (on_accept). Before the deferred free this freed the server under the running
 * handler (ASan: heap-use-after-free in the dispatch that called the handler; without ASan a
 * hang joining the calling thread). The handler keeps using the server after its free call: it
 * must stay valid until the handler returns. The free's completion is seen through destroy_user. */
static atomic_int freed_user, free_handler_port;
static atomic_int free_on_event;

static void note_destroyed(void *user)
{
    (void)user;
    atomic_store(&freed_user, 1);
}

static int free_in_handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user, (void)ev;
    if (id != atomic_load(&free_on_event))
        return 0;
    sftpkit_server_free(s);
    usleep(20000); /* the finishing thread runs meanwhile: it must wait for this handler */
    int64_t port = 0;
    sftpkit_server_get_port(s, &port);
    atomic_store(&free_handler_port, (int)port);
    return 0;
}

static void free_from_handler_of(int event_id)
{
    sftpkit_server *s = started_server();
    int64_t port = 0;
    sftpkit_server_get_port(s, &port);
    atomic_store(&freed_user, 0);
    atomic_store(&free_handler_port, 0);
    atomic_store(&free_on_event, event_id);
    assert_int_equal(sftpkit_server_set_event_handler(s, free_in_handler, NULL, note_destroyed), 0);
    int fd = tcp_connect(s);
    /* bounded: ctest's TIMEOUT would also catch a hang, this gives the clearer failure */
    for (int i = 0; i < 1000 && !atomic_load(&freed_user); i++)
        usleep(10000);
    assert_int_equal(atomic_load(&freed_user), 1);
    assert_int_equal(atomic_load(&free_handler_port), (int)port);
    close(fd);
    /* the port is free again: nothing of the server is left listening */
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_not_equal(connect(probe, (struct sockaddr *)&a, sizeof a), 0);
    close(probe);
}

static void test_free_from_a_connection_handler(void **state)
{
    (void)state;
    free_from_handler_of(SFTPKIT_EVENT_ON_CONNECT);
}

static void test_free_from_an_accept_handler(void **state)
{
    (void)state;
    free_from_handler_of(SFTPKIT_EVENT_ON_ACCEPT);
}

/* drop_client from inside handlers while the application drops the same connections and stops:
 * each of 8 connections' on_connect handler drops its own connection and its neighbour's, an
 * application thread drops every id twice meanwhile, then stop(). Nothing may hang (ctest
 * TIMEOUT) and every client must see its connection closed. */
#define DROPPERS 8
static atomic_int drops_inside;
static atomic_llong dropped_ids[DROPPERS];

static int drop_in_handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user;
    if (id != SFTPKIT_EVENT_ON_CONNECT)
        return 0;
    int64_t cid = 0;
    sftpkit_event_get_int(ev, "connection_id", &cid);
    int slot = atomic_fetch_add(&drops_inside, 1) % DROPPERS;
    atomic_store(&dropped_ids[slot], cid);
    sftpkit_server_drop_client(s, cid + 1, slot % 2); /* the neighbour, which may not exist yet */
    sftpkit_server_drop_client(s, cid, 1);
    return 0;
}

static void test_drop_client_from_handlers_and_the_application(void **state)
{
    (void)state;
    sftpkit_server *s = started_server();
    atomic_store(&drops_inside, 0);
    assert_int_equal(sftpkit_server_set_event_handler(s, drop_in_handler, NULL, NULL), 0);
    int fds[DROPPERS];
    for (int i = 0; i < DROPPERS; i++)
        fds[i] = tcp_connect(s);
    for (int round = 0; round < 2; round++)
        for (int64_t cid = 1; cid <= 2 * DROPPERS; cid++)
            sftpkit_server_drop_client(s, cid, round);
    for (int i = 0; i < DROPPERS; i++) {
        struct timeval tv = {.tv_sec = 10};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[512];
        ssize_t n;
        while ((n = recv(fds[i], buf, sizeof buf, 0)) > 0) /* the server's banner, then the end */
            ;
        assert_true(n == 0 || (n < 0 && errno == ECONNRESET)); /* closed, not timed out */
        close(fds[i]);
    }
    /* A drop from the application may close a client's socket before that connection's thread
     * has run on_connect: wait (bounded) for every handler before counting them. */
    for (int i = 0; i < 1000 && atomic_load(&drops_inside) < DROPPERS; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&drops_inside), DROPPERS);
    assert_int_equal(sftpkit_server_stop(s), 0);
    assert_inactive(s);
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thirty_stops_at_once),
        cmocka_unit_test(test_stop_from_a_handler_during_application_stops),
        cmocka_unit_test(test_free_while_a_handler_stops),
        cmocka_unit_test(test_free_from_a_connection_handler),
        cmocka_unit_test(test_free_from_an_accept_handler),
        cmocka_unit_test(test_drop_client_from_handlers_and_the_application),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
