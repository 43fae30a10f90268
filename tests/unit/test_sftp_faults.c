/* Fault-injection loop for the engine, in the manner of SQLite's malloc and I/O error tests: a
 * fixed request sequence (files, directories, links, attributes, extensions) runs again and
 * again, with the Nth allocation, then the Nth file-system call, failing for N = 1, 2, ... until
 * a run completes without reaching N. Each run must show: every request is answered (exactly one
 * reply with its id, of the request's reply type or a STATUS), or the engine reports a fatal
 * error and stays closed; once the fault is past, a closed-or-not session either answers a
 * REALPATH or is closed. Under ASan (the same test in build-asan) a leak on any failure path
 * fails the run at exit. The seam is tests/unit/fault/fault_inject.c (linker --wrap, this
 * executable only). */
#include "test_sftp_helpers.h"

#include "fault/fault_inject.h"

typedef struct {
    uint8_t s[300];
    size_t len;
} handle;

typedef struct {
    tc *t;
    int closed; /* the engine reported a fatal error */
    const char *step;
    uint8_t type; /* of the last reply */
    uint8_t data[512];
    size_t data_len; /* the last reply's payload after type and id */
} run;

/* Sends the request built in r->t->req (counted: the engine's work is what faults hit) and takes
 * its one reply. Fails the test if the engine answers with anything but exactly one reply for
 * that id; returns the reply type, or 0 once the engine is closed. */
static uint8_t exchange(run *r, uint32_t id, uint8_t want, const char *step)
{
    tc *t = r->t;
    r->step = step;
    if (r->closed)
        return 0;
    sfk_put_u32(t->req.data, (uint32_t)(t->req.len - 4));
    fi_count(1);
    int rc = sfk_engine_input(t->e, t->req.data, t->req.len);
    fi_count(0);
    int replies = 0;
    for (;;) {
        size_t len = 0;
        fi_count(1);
        const uint8_t *out = sfk_engine_output(t->e, &len);
        fi_count(0);
        if (!len)
            break;
        size_t used = 0;
        while (len - used >= 4 && len - used - 4 >= sfk_get_u32(out + used)) {
            uint32_t plen = sfk_get_u32(out + used);
            const uint8_t *p = out + used + 4;
            uint8_t type = plen ? p[0] : 0;
            uint32_t rid = type == SSH_FXP_VERSION || plen < 5 ? 0 : sfk_get_u32(p + 1);
            if (rid != id)
                fail_msg("%s (fault at %s #%ld): reply for id %u, want %u", step, fi_fired_at(), fi_seen(), rid, id);
            if (type != want && type != SSH_FXP_STATUS)
                fail_msg("%s (fault at %s): reply type %u, want %u or STATUS", step, fi_fired_at(), type, want);
            size_t skip = type == SSH_FXP_VERSION ? 1 : 5;
            r->type = type;
            r->data_len = plen > skip && plen - skip <= sizeof r->data ? plen - skip : 0;
            memcpy(r->data, p + skip, r->data_len);
            replies++;
            used += 4 + plen;
        }
        if (!used)
            break;
        fi_count(1);
        sfk_engine_consume(t->e, used);
        fi_count(0);
    }
    if (rc < 0) { /* a fatal error closes the session: it must stay closed */
        if (replies > 1)
            fail_msg("%s: %d replies, then a fatal error", step, replies);
        r->closed = 1;
        assert_int_equal(sfk_engine_input(t->e, t->req.data, t->req.len), -1);
        return 0;
    }
    if (replies != 1)
        fail_msg("%s (fault at %s #%ld): %d replies for one request", step, fi_fired() ? fi_fired_at() : "none",
                 fi_seen(), replies);
    return r->type;
}

/* The handle of a HANDLE reply, or a handle the server never gave (so later requests on it are
 * still answered, with a STATUS). */
static void take_handle(run *r, uint8_t type, handle *h)
{
    sfk_rd rd = sfk_rd_init(r->data, r->data_len);
    size_t len = 0;
    const uint8_t *s = type == SSH_FXP_HANDLE ? sfk_rd_str(&rd, &len) : NULL;
    if (!s || rd.bad || len > sizeof h->s) {
        memcpy(h->s, "none", 4);
        h->len = 4;
        return;
    }
    memcpy(h->s, s, len);
    h->len = len;
}

static uint8_t path_req(run *r, uint8_t type, const char *path, uint8_t want, const char *step)
{
    uint32_t id = tc_begin(r->t, type);
    tc_cstr(r->t, path);
    return exchange(r, id, want, step);
}

static uint8_t two_paths(run *r, uint8_t type, const char *ext, const char *a, const char *b, const char *step)
{
    uint32_t id = tc_begin(r->t, type);
    if (ext)
        tc_cstr(r->t, ext);
    tc_cstr(r->t, a);
    tc_cstr(r->t, b);
    return exchange(r, id, SSH_FXP_STATUS, step);
}

static uint8_t handle_req(run *r, uint8_t type, const char *ext, const handle *h, uint8_t want, const char *step)
{
    uint32_t id = tc_begin(r->t, type);
    if (ext)
        tc_cstr(r->t, ext);
    tc_str(r->t, h->s, h->len);
    return exchange(r, id, want, step);
}

static uint8_t open_req(run *r, const char *path, uint32_t pflags, handle *h, const char *step)
{
    uint32_t id = tc_begin(r->t, SSH_FXP_OPEN);
    tc_cstr(r->t, path);
    tc_u32(r->t, pflags);
    tc_u32(r->t, 0);
    uint8_t type = exchange(r, id, SSH_FXP_HANDLE, step);
    take_handle(r, type, h);
    return type;
}

/* The sequence: one of each request kind the engine serves from the local file system. */
static void sequence(run *r)
{
    tc *t = r->t;
    handle w, rd, d;
    uint32_t id;

    tc_begin(t, SSH_FXP_INIT);
    tc_u32(t, 3);
    exchange(r, 0, SSH_FXP_VERSION, "INIT");

    open_req(r, "new.txt", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, &w, "OPEN write");
    id = tc_begin(t, SSH_FXP_WRITE);
    tc_str(t, w.s, w.len);
    tc_u64(t, 0);
    tc_str(t, "payload", 7);
    exchange(r, id, SSH_FXP_STATUS, "WRITE");
    handle_req(r, SSH_FXP_FSTAT, NULL, &w, SSH_FXP_ATTRS, "FSTAT");
    id = tc_begin(t, SSH_FXP_FSETSTAT);
    tc_str(t, w.s, w.len);
    tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS);
    tc_u32(t, 0600);
    exchange(r, id, SSH_FXP_STATUS, "FSETSTAT");
    handle_req(r, SSH_FXP_EXTENDED, "fsync@openssh.com", &w, SSH_FXP_STATUS, "fsync");
    handle_req(r, SSH_FXP_CLOSE, NULL, &w, SSH_FXP_STATUS, "CLOSE write");

    open_req(r, "a.txt", SSH_FXF_READ, &rd, "OPEN read");
    id = tc_begin(t, SSH_FXP_READ);
    tc_str(t, rd.s, rd.len);
    tc_u64(t, 0);
    tc_u32(t, 100);
    exchange(r, id, SSH_FXP_DATA, "READ");
    handle_req(r, SSH_FXP_EXTENDED, "fstatvfs@openssh.com", &rd, SSH_FXP_EXTENDED_REPLY, "fstatvfs");
    handle_req(r, SSH_FXP_CLOSE, NULL, &rd, SSH_FXP_STATUS, "CLOSE read");

    id = tc_begin(t, SSH_FXP_OPENDIR);
    tc_cstr(t, "/");
    take_handle(r, exchange(r, id, SSH_FXP_HANDLE, "OPENDIR"), &d);
    handle_req(r, SSH_FXP_READDIR, NULL, &d, SSH_FXP_NAME, "READDIR 1");
    handle_req(r, SSH_FXP_READDIR, NULL, &d, SSH_FXP_NAME, "READDIR 2");
    handle_req(r, SSH_FXP_CLOSE, NULL, &d, SSH_FXP_STATUS, "CLOSE dir");

    path_req(r, SSH_FXP_STAT, "a.txt", SSH_FXP_ATTRS, "STAT");
    path_req(r, SSH_FXP_LSTAT, "d", SSH_FXP_ATTRS, "LSTAT");
    id = tc_begin(t, SSH_FXP_SETSTAT);
    tc_cstr(t, "a.txt");
    tc_u32(t, SSH_FILEXFER_ATTR_ACMODTIME);
    tc_u32(t, 1000000000);
    tc_u32(t, 1000000000);
    exchange(r, id, SSH_FXP_STATUS, "SETSTAT");
    id = tc_begin(t, SSH_FXP_MKDIR);
    tc_cstr(t, "m");
    tc_u32(t, 0);
    exchange(r, id, SSH_FXP_STATUS, "MKDIR");
    path_req(r, SSH_FXP_RMDIR, "m", SSH_FXP_STATUS, "RMDIR");
    two_paths(r, SSH_FXP_RENAME, NULL, "a.txt", "b.txt", "RENAME");
    two_paths(r, SSH_FXP_EXTENDED, "posix-rename@openssh.com", "b.txt", "a.txt", "posix-rename");
    two_paths(r, SSH_FXP_SYMLINK, NULL, "a.txt", "ln", "SYMLINK");
    path_req(r, SSH_FXP_READLINK, "ln", SSH_FXP_NAME, "READLINK");
    path_req(r, SSH_FXP_REMOVE, "ln", SSH_FXP_STATUS, "REMOVE");
    two_paths(r, SSH_FXP_EXTENDED, "hardlink@openssh.com", "a.txt", "h.txt", "hardlink");
    path_req(r, SSH_FXP_REMOVE, "h.txt", SSH_FXP_STATUS, "REMOVE link");
    path_req(r, SSH_FXP_REALPATH, "d/../a.txt", SSH_FXP_NAME, "REALPATH");

    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "statvfs@openssh.com");
    tc_cstr(t, "/");
    exchange(r, id, SSH_FXP_EXTENDED_REPLY, "statvfs");
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "limits@openssh.com");
    exchange(r, id, SSH_FXP_EXTENDED_REPLY, "limits");
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "expand-path@openssh.com");
    tc_cstr(t, "~/d");
    exchange(r, id, SSH_FXP_NAME, "expand-path");
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "home-directory");
    tc_cstr(t, "alice");
    exchange(r, id, SSH_FXP_NAME, "home-directory");
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "users-groups-by-id@openssh.com");
    tc_str(t, "\0\0\0\0", 4);
    tc_str(t, "\0\0\0\0", 4);
    exchange(r, id, SSH_FXP_EXTENDED_REPLY, "users-groups-by-id");
}

/* One run with the nth call of `kind` failing; returns whether the fault was reached. With a
 * server, the engine reads its properties and fires its events (no handler) on the way. */
static int persistent_faults;

static int run_once(fi_kind kind, long n, sftpkit_server *s)
{
    run r = {.t = tc_new_with(s, NULL, 1)};
    tc_put_file(r.t->root, "a.txt", "hello");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/d", r.t->root);
    assert_int_equal(mkdir(dir, 0755), 0);
    if (persistent_faults)
        fi_arm_persistent(kind, n);
    else
        fi_arm(kind, n);
    sequence(&r);
    int reached = fi_fired();
    fi_arm(kind, 0);
    /* the fault is past: an open session still answers, a closed one stays closed */
    uint8_t type = path_req(&r, SSH_FXP_REALPATH, ".", SSH_FXP_NAME, "REALPATH after the fault");
    if (!r.closed && type != SSH_FXP_NAME)
        fail_msg("after a fault at %s #%ld the session no longer answers REALPATH", fi_fired_at(), n);
    tc_free(r.t);
    return reached;
}

/* Runs the loop for one kind; returns how many fault points it went through. */
static long loop(fi_kind kind, sftpkit_server *s)
{
    long n = 1;
    while (run_once(kind, n, s))
        n++;
    return n - 1;
}

static void test_every_allocation_failure_is_answered(void **state)
{
    (void)state;
    long points = loop(FI_ALLOC, NULL);
    print_message("allocation fault points: %ld\n", points);
    /* the sequence allocates (handles, directory listings, paths): a loop that never reached a
     * fault would prove nothing */
    assert_true(points >= 3);
}

static void test_every_file_system_failure_is_answered(void **state)
{
    (void)state;
    long points = loop(FI_FS, NULL);
    print_message("file-system fault points: %ld\n", points);
    assert_true(points >= 30);
}

static void test_every_failure_is_answered_with_a_server(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_non_null(s);
    long allocs = loop(FI_ALLOC, s), fs = loop(FI_FS, s);
    print_message("with a server: allocation fault points: %ld, file-system fault points: %ld\n", allocs, fs);
    assert_true(allocs >= 3 && fs >= 30);
    sftpkit_server_free(s);
}

/* SQLite's persistent mode: from the Nth call on, every call of the kind fails (memory that stays
 * exhausted, a disk that went away); every later request must still be answered or the session
 * closed, and once the fault clears the session must work again. */
static void test_persistent_failures_are_answered(void **state)
{
    (void)state;
    persistent_faults = 1;
    long allocs = loop(FI_ALLOC, NULL), fs = loop(FI_FS, NULL);
    persistent_faults = 0;
    print_message("persistent: allocation fault points: %ld, file-system fault points: %ld\n", allocs, fs);
    assert_true(allocs >= 3 && fs >= 30);
}

/* The seam itself: an armed fault fails exactly that call, once. */
static void test_the_seam_fails_the_nth_call_once(void **state)
{
    (void)state;
    fi_arm(FI_ALLOC, 2);
    fi_count(1);
    void *a = malloc(8), *b = malloc(8), *c = malloc(8);
    fi_count(0);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    assert_true(fi_fired());
    assert_string_equal(fi_fired_at(), "malloc");
    free(a);
    free(c);
    fi_arm(FI_FS, 1);
    fi_count(1);
    struct stat st;
    assert_int_equal(fstat(0, &st), -1);
    fi_count(0);
    fi_arm(FI_FS, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_seam_fails_the_nth_call_once),
        cmocka_unit_test(test_every_allocation_failure_is_answered),
        cmocka_unit_test(test_every_file_system_failure_is_answered),
        cmocka_unit_test(test_every_failure_is_answered_with_a_server),
        cmocka_unit_test(test_persistent_failures_are_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
