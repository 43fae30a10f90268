/* The engine at the protocol level: version negotiation, framing over arbitrary splits,
 * malformed and truncated packets, limits, pipelining, back-pressure, and a deterministic fuzz
 * loop. Every request must get exactly one reply; nothing may crash or hang. */
#include "test_sftp_helpers.h"

#include "sftp/engine_int.h"

#include <signal.h>
#include <sys/resource.h>

static const char *const expected_extensions[] = {
    "posix-rename@openssh.com",
    "statvfs@openssh.com",
    "fstatvfs@openssh.com",
    "hardlink@openssh.com",
    "fsync@openssh.com",
    "lsetstat@openssh.com",
    "limits@openssh.com",
    "expand-path@openssh.com",
    "copy-data",
    "home-directory",
    "users-groups-by-id@openssh.com",
};
#define N_EXT (sizeof expected_extensions / sizeof expected_extensions[0])

static void test_init_negotiates_v3_and_advertises_all_extensions(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    int seen[N_EXT] = {0};
    while (t->rd.left) {
        char name[64], version[1024]; /* supported2 carries a list */
        tc_rd_cstr(t, name, sizeof name);
        tc_rd_cstr(t, version, sizeof version);
        for (size_t i = 0; i < N_EXT; i++)
            if (!strcmp(name, expected_extensions[i]))
                seen[i]++;
    }
    for (size_t i = 0; i < N_EXT; i++)
        if (seen[i] != 1)
            fail_msg("extension %s advertised %d times", expected_extensions[i], seen[i]);
    assert_int_equal(tc_pending(t), 0);
    tc_free(t);
}

static void test_older_client_gets_its_version(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 2), 2);
    /* v2 has RENAME but no READLINK, and its STATUS carries no message */
    tc_put_file(t->root, "a", "x");
    uint32_t id = tc_begin(t, SSH_FXP_RENAME);
    tc_cstr(t, "a");
    tc_cstr(t, "b");
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_OK);
    assert_int_equal(t->rd.left, 0);
    id = tc_send_path(t, SSH_FXP_READLINK, "b");
    tc_expect_status(t, id, SSH_FX_OP_UNSUPPORTED);
    tc_free(t);
}

static void test_version_range_comes_from_the_properties(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 2), 0);
    tc *t = tc_new_with(s, NULL, 7);
    assert_int_equal(tc_init(t, 3), 2);
    tc_free(t);

    /* a client below min_sftp_version: no session */
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 6), 0);
    assert_int_equal(sftpkit_server_set_min_sftp_version(s, 3), 0);
    t = tc_new_with(s, NULL, 7);
    tc_begin(t, SSH_FXP_INIT);
    tc_u32(t, 2);
    assert_int_equal(tc_send(t), -1);
    assert_non_null(strstr(sftpkit_last_error_message(), "version"));
    assert_int_equal(tc_pending(t), 0);
    tc_free(t);

    /* a v3 client with min_sftp_version 4: no common version */
    assert_int_equal(sftpkit_server_set_min_sftp_version(s, 4), 0);
    t = tc_new_with(s, NULL, 7);
    tc_begin(t, SSH_FXP_INIT);
    tc_u32(t, 3);
    assert_int_equal(tc_send(t), -1);
    tc_free(t);
    /* a v6 client within min 4 .. max 5 gets 5; above the engine's 6 it gets 6 */
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 5), 0);
    t = tc_new_with(s, NULL, 7);
    assert_int_equal(tc_init(t, 6), 5);
    tc_free(t);
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 6), 0);
    t = tc_new_with(s, NULL, 7);
    assert_int_equal(tc_init(t, 9), 6);
    tc_free(t);
    sftpkit_server_free(s);
}

static void test_requests_before_init_and_a_second_init_are_fatal(void **state)
{
    (void)state;
    tc *t = tc_new();
    tc_begin(t, SSH_FXP_STAT);
    tc_cstr(t, "/");
    assert_int_equal(tc_send(t), -1);
    assert_non_null(strstr(sftpkit_last_error_message(), "INIT"));
    /* once failed, every further call fails */
    uint8_t byte = 0;
    assert_int_equal(sfk_engine_input(t->e, &byte, 1), -1);
    tc_free(t);

    t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    tc_begin(t, SSH_FXP_INIT);
    tc_u32(t, 3);
    assert_int_equal(tc_send(t), -1);
    tc_free(t);
}

static void test_length_over_the_limit_is_fatal_at_once(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    uint8_t hdr[4];
    sfk_put_u32(hdr, SFK_SFTP_MAX_PACKET_ACCEPTED + 1);
    /* only the length has arrived: it is refused without waiting for the body */
    assert_int_equal(sfk_engine_input(t->e, hdr, 4), -1);
    assert_non_null(strstr(sftpkit_last_error_message(), "limit"));
    tc_free(t);

    t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    /* split inside the length field, after a complete request */
    uint32_t id = tc_send_path(t, SSH_FXP_STAT, "/");
    assert_int_equal(tc_next(t), SSH_FXP_ATTRS);
    assert_int_equal(t->id, id);
    uint8_t bad[4];
    sfk_put_u32(bad, 0x7fffffff);
    assert_int_equal(sfk_engine_input(t->e, bad, 2), 0);
    assert_int_equal(sfk_engine_input(t->e, bad + 2, 2), -1);
    tc_free(t);

    t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    uint8_t zero[4] = {0, 0, 0, 0};
    assert_int_equal(sfk_engine_input(t->e, zero, 4), -1);
    tc_free(t);
}

static void test_byte_by_byte_and_random_splits(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        tc *t = tc_new();
        t->split = 1;
        t->seed = 99u + (unsigned)mode;
        assert_int_equal(tc_init(t, 3), 3);
        tc_handle h;
        assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_READ, &h), 0);
        char data[5000];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (char)('a' + i % 26);
        assert_int_equal(tc_write(t, &h, 0, data, sizeof data), 0);
        char back[5000];
        size_t got = 0;
        assert_int_equal(tc_read(t, &h, 0, sizeof back, back, &got), 0);
        assert_int_equal(got, sizeof data);
        assert_memory_equal(back, data, sizeof data);
        assert_int_equal(tc_close(t, &h), 0);
        tc_free(t);
    }
}

static void test_truncated_requests_get_bad_message(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    /* each request type with nothing after its id */
    for (uint8_t type = SSH_FXP_OPEN; type <= SSH_FXP_SYMLINK; type++) {
        uint32_t id = tc_begin(t, type);
        assert_int_equal(tc_send(t), 0);
        tc_expect_status(t, id, SSH_FX_BAD_MESSAGE);
    }
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_BAD_MESSAGE);
    /* each extension with nothing after its name (limits needs nothing) */
    for (size_t i = 0; i < N_EXT; i++) {
        if (!strcmp(expected_extensions[i], "limits@openssh.com"))
            continue;
        id = tc_begin(t, SSH_FXP_EXTENDED);
        tc_cstr(t, expected_extensions[i]);
        assert_int_equal(tc_send(t), 0);
        tc_expect_status(t, id, SSH_FX_BAD_MESSAGE);
    }
    /* a string whose length runs past the packet */
    id = tc_begin(t, SSH_FXP_STAT);
    tc_u32(t, 1000);
    tc_str(t, "abc", 3);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_BAD_MESSAGE);
    /* a WRITE whose data string is cut short */
    id = tc_begin(t, SSH_FXP_WRITE);
    tc_cstr(t, "aaaaaaaa");
    tc_u64(t, 0);
    tc_u32(t, 100);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_BAD_MESSAGE);
    /* too short to hold an id: answered with id 0 */
    uint8_t tiny[] = {0, 0, 0, 3, SSH_FXP_READ, 1, 2};
    assert_int_equal(sfk_engine_input(t->e, tiny, sizeof tiny), 0);
    tc_expect_status(t, 0, SSH_FX_BAD_MESSAGE);
    assert_int_equal(tc_pending(t), 0);
    tc_free(t);
}

static void test_unknown_requests_and_extensions(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    uint8_t types[] = {0, 21, 99, SSH_FXP_STATUS, SSH_FXP_DATA, SSH_FXP_EXTENDED_REPLY, 255};
    for (size_t i = 0; i < sizeof types; i++) {
        uint32_t id = tc_begin(t, types[i]);
        tc_cstr(t, "whatever");
        assert_int_equal(tc_send(t), 0);
        tc_expect_status(t, id, SSH_FX_OP_UNSUPPORTED);
    }
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "no-such-extension@example.com");
    tc_cstr(t, "arg");
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_OP_UNSUPPORTED);
    tc_free(t);
}

static void test_unknown_handles_fail_cleanly(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    tc_handle bogus[] = {{"aaaaaaaa", 8}, {"nope", 4}, {"", 0}, {"zzzzzzzz", 8}};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        char buf[16];
        size_t got;
        assert_int_equal(tc_read(t, &bogus[i], 0, 10, buf, &got), SSH_FX_FAILURE);
        assert_int_equal(tc_write(t, &bogus[i], 0, "x", 1), SSH_FX_FAILURE);
        assert_int_equal(tc_close(t, &bogus[i]), SSH_FX_FAILURE);
        uint32_t id = tc_handle_req(t, SSH_FXP_FSTAT, &bogus[i]);
        tc_expect_status(t, id, SSH_FX_FAILURE);
        id = tc_handle_req(t, SSH_FXP_READDIR, &bogus[i]);
        tc_expect_status(t, id, SSH_FX_FAILURE);
        id = tc_begin(t, SSH_FXP_FSETSTAT);
        tc_str(t, bogus[i].s, bogus[i].len);
        tc_u32(t, 0);
        assert_int_equal(tc_send(t), 0);
        tc_expect_status(t, id, SSH_FX_FAILURE);
        const char *exts[] = {"fsync@openssh.com", "fstatvfs@openssh.com"};
        for (int k = 0; k < 2; k++) {
            id = tc_begin(t, SSH_FXP_EXTENDED);
            tc_cstr(t, exts[k]);
            tc_str(t, bogus[i].s, bogus[i].len);
            assert_int_equal(tc_send(t), 0);
            tc_expect_status(t, id, SSH_FX_FAILURE);
        }
    }
    /* a closed handle is unknown afterwards, and a file handle is not a directory handle */
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    uint32_t id = tc_handle_req(t, SSH_FXP_READDIR, &h);
    tc_expect_status(t, id, SSH_FX_FAILURE);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_close(t, &h), SSH_FX_FAILURE);
    assert_int_equal(tc_write(t, &h, 0, "x", 1), SSH_FX_FAILURE);
    tc_free(t);
}

static void test_pipelined_requests_are_answered_in_order_in_one_batch(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    sfk_buf all = {0};
    uint32_t first = t->next_id + 1;
    for (int i = 0; i < 200; i++) {
        tc_begin(t, SSH_FXP_STAT);
        tc_cstr(t, i % 2 ? "/" : "/missing");
        sfk_put_u32(t->req.data, (uint32_t)(t->req.len - 4));
        sfk_wr_bytes(&all, t->req.data, t->req.len);
    }
    assert_int_equal(sfk_engine_input(t->e, all.data, all.len), 0);
    size_t queued = tc_pending(t);
    assert_true(queued > 200 * 9);
    for (int i = 0; i < 200; i++) {
        uint8_t type = tc_next(t);
        assert_int_equal(t->id, first + (uint32_t)i);
        assert_int_equal(type, i % 2 ? SSH_FXP_ATTRS : SSH_FXP_STATUS);
    }
    assert_int_equal(tc_pending(t), 0);
    sfk_buf_free(&all);
    tc_free(t);
}

static void test_output_is_bounded_and_resumes_on_consume(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    char *big = malloc(1 << 20);
    memset(big, 'q', 1 << 20);
    big[(1 << 20) - 1] = '\0';
    tc_put_file(t->root, "big", big);
    tc_handle h;
    assert_int_equal(tc_open(t, "big", SSH_FXF_READ, &h), 0);
    sfk_buf all = {0};
    uint32_t first = t->next_id + 1;
    const int n = 100; /* 100 x 255 KiB asked for: ~25 MiB of replies */
    for (int i = 0; i < n; i++) {
        tc_begin(t, SSH_FXP_READ);
        tc_str(t, h.s, h.len);
        tc_u64(t, (uint64_t)(i % 4) * 261120u);
        tc_u32(t, 261120);
        sfk_put_u32(t->req.data, (uint32_t)(t->req.len - 4));
        sfk_wr_bytes(&all, t->req.data, t->req.len);
    }
    assert_int_equal(sfk_engine_input(t->e, all.data, all.len), 0);
    assert_true(tc_pending(t) < 1024u * 1024); /* held back, not all queued */
    int replies = 0;
    while (tc_pending(t)) {
        uint8_t type = tc_next(t); /* consuming lets the held requests run */
        assert_int_equal(type, SSH_FXP_DATA);
        assert_int_equal(t->id, first + (uint32_t)replies);
        replies++;
        assert_true(tc_pending(t) < 1024u * 1024);
    }
    assert_int_equal(replies, n);
    assert_int_equal(tc_close(t, &h), 0);
    sfk_buf_free(&all);
    free(big);
    tc_free(t);
}

static void test_read_length_is_capped(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    char *big = malloc(600000);
    memset(big, 'z', 599999);
    big[599999] = '\0';
    tc_put_file(t->root, "big", big);
    tc_handle h;
    assert_int_equal(tc_open(t, "big", SSH_FXF_READ, &h), 0);
    size_t got = 0;
    assert_int_equal(tc_read(t, &h, 0, 500000, big, &got), 0);
    assert_int_equal(got, SFK_SFTP_MAX_RW_LENGTH);
    assert_int_equal(tc_read(t, &h, 10000000, 10, big, &got), SSH_FX_EOF);
    assert_int_equal(tc_read(t, &h, UINT64_MAX, 10, big, &got), SSH_FX_EOF);
    assert_int_equal(tc_close(t, &h), 0);
    free(big);
    tc_free(t);
}

static unsigned fuzz_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

/* Large WRITEs are written to the file as their pieces arrive (no reassembly); the result and the
 * order of replies must be exactly as for whole packets. */
static void test_large_writes_stream_in_pieces(void **state)
{
    (void)state;
    static uint8_t data[300000], back[300000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + i / 977);
    for (int mode = 0; mode < 3; mode++) {
        tc *t = tc_new();
        assert_int_equal(tc_init(t, 3), 3);
        tc_handle h;
        assert_int_equal(tc_open(t, "big", SSH_FXF_READ | SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
        /* one batch: WRITE 200000 at 0, STAT, WRITE 100000 at 200000, READDIR on a file handle */
        sfk_buf all = {0};
        uint32_t first = t->next_id + 1;
        for (int k = 0; k < 4; k++) {
            tc_begin(t, k == 0 || k == 2 ? SSH_FXP_WRITE : k == 1 ? SSH_FXP_STAT : SSH_FXP_READDIR);
            if (k == 1) {
                tc_cstr(t, "big");
            } else {
                tc_str(t, h.s, h.len);
                if (k != 3) {
                    tc_u64(t, k ? 200000 : 0);
                    tc_str(t, data + (k ? 200000 : 0), k ? 100000 : 200000);
                }
            }
            sfk_put_u32(t->req.data, (uint32_t)(t->req.len - 4));
            sfk_wr_bytes(&all, t->req.data, t->req.len);
        }
        if (mode == 0) { /* random small pieces */
            t->split = 1;
            assert_int_equal(tc_feed(t, all.data, all.len), 0);
        } else { /* transport-sized pieces: 7000 / 65536 bytes */
            size_t piece = mode == 1 ? 7000 : 65536;
            for (size_t off = 0; off < all.len; off += piece)
                assert_int_equal(sfk_engine_input(t->e, all.data + off, all.len - off < piece ? all.len - off : piece),
                                 0);
        }
        t->split = 0;
        tc_expect_status(t, first, SSH_FX_OK);
        assert_int_equal(tc_next(t), SSH_FXP_ATTRS);
        assert_int_equal(t->id, first + 1);
        tc_expect_status(t, first + 2, SSH_FX_OK);
        tc_expect_status(t, first + 3, SSH_FX_FAILURE);
        assert_int_equal(tc_pending(t), 0);
        size_t got = 0, total = 0;
        while (total < sizeof back && tc_read(t, &h, total, 261120, back + total, &got) == 0)
            total += got;
        assert_int_equal(total, sizeof data);
        assert_memory_equal(back, data, sizeof data);
        assert_int_equal(tc_close(t, &h), 0);
        sfk_buf_free(&all);
        tc_free(t);
    }
}

/* The data of a large WRITE reaches the file before the packet has fully arrived, and the reply
 * waits for the last byte. */
static void test_streamed_write_reaches_the_file_early(void **state)
{
    (void)state;
    static uint8_t data[200000];
    memset(data, 's', sizeof data);
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    uint32_t id = tc_begin(t, SSH_FXP_WRITE);
    tc_str(t, h.s, h.len);
    tc_u64(t, 0);
    tc_str(t, data, sizeof data);
    sfk_put_u32(t->req.data, (uint32_t)(t->req.len - 4));
    assert_int_equal(sfk_engine_input(t->e, t->req.data, 60000), 0);
    assert_int_equal(tc_pending(t), 0);
    char p[300];
    snprintf(p, sizeof p, "%s/f", t->root);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_true(sb.st_size >= 50000);
    assert_int_equal(sfk_engine_input(t->e, t->req.data + 60000, t->req.len - 60000), 0);
    tc_expect_status(t, id, SSH_FX_OK);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, sizeof data);
    assert_int_equal(tc_close(t, &h), 0);
    tc_free(t);
}

/* A streamed WRITE that fails half way (the file size limit) answers with the failure once all
 * its data has arrived, and the session goes on. WRITEs to a read handle or an unknown handle are
 * not streamed and get their usual answers. */
static void test_streamed_write_failure(void **state)
{
    (void)state;
    static uint8_t data[200000];
    memset(data, 'w', sizeof data);
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    tc_handle h, r;
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    tc_put_file(t->root, "ro", "x");
    assert_int_equal(tc_open(t, "ro", SSH_FXF_READ, &r), 0);
    struct rlimit old, lim = {.rlim_cur = 50000, .rlim_max = RLIM_INFINITY};
    getrlimit(RLIMIT_FSIZE, &old);
    lim.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    t->split = 1;
    uint32_t st = tc_write(t, &h, 0, data, sizeof data);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, SSH_FX_FAILURE);
    assert_int_equal(tc_write(t, &h, 0, data, sizeof data), SSH_FX_OK); /* the session goes on */
    assert_int_equal(tc_write(t, &r, 0, data, sizeof data), SSH_FX_PERMISSION_DENIED);
    tc_handle bogus = {"zzzzzzzz", 8};
    assert_int_equal(tc_write(t, &bogus, 0, data, sizeof data), SSH_FX_FAILURE);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_close(t, &r), 0);
    tc_free(t);
}

/* Random packets: valid requests with random fields, mutations of valid requests, and pure
 * noise. The engine must answer every non-fatal request exactly once and never crash. */
static void test_fuzz_random_packets(void **state)
{
    (void)state;
    static unsigned seed = 424242;
#define RND() fuzz_rand(&seed)
    const char *paths[] = {"/", "a", "../..", "/a/b", "x/../../y", "", "dir", "link", "\xff\xfe", "a/./b//c"};
    tc *t = NULL;
    tc_handle fh;
    int sent = 0, answered = 0;
    for (int iter = 0; iter < 4000; iter++) {
        if (!t) {
            t = tc_new();
            assert_int_equal(tc_init(t, 3), 3);
            mkdir(t->root, 0755);
            tc_put_file(t->root, "a", "hello");
            char d[400];
            snprintf(d, sizeof d, "%s/dir", t->root);
            mkdir(d, 0755);
            assert_int_equal(tc_open(t, "a", SSH_FXF_READ | SSH_FXF_WRITE, &fh), 0);
        }
        t->split = RND() % 3 == 0; /* some requests arrive in random pieces */
        if (RND() % 40 == 0) {     /* a large WRITE (streamed), to the open file or a damaged handle */
            static uint8_t big[40000];
            tc_begin(t, SSH_FXP_WRITE);
            tc_str(t, fh.s, RND() % 8 ? fh.len : fh.len - 1);
            tc_u64(t, RND());
            tc_u32(t, sizeof big - (RND() % 2) * 100); /* sometimes longer than the packet */
            sfk_wr_bytes(&t->req, big, sizeof big - RND() % 200);
            if (tc_send(t) != 0) {
                tc_free(t);
                t = NULL;
                continue;
            }
            sent++;
            while (tc_pending(t)) {
                tc_next(t);
                answered++;
            }
            assert_int_equal(answered, sent);
            continue;
        }
        uint8_t type = (uint8_t)(RND() % 3 == 0 ? RND() % 256 : SSH_FXP_OPEN + RND() % 18);
        if (RND() % 10 == 0)
            type = SSH_FXP_EXTENDED;
        tc_begin(t, type);
        int fields = (int)(RND() % 6);
        if (type == SSH_FXP_EXTENDED)
            tc_cstr(t, expected_extensions[RND() % N_EXT]);
        for (int f = 0; f < fields; f++) {
            switch (RND() % 5) {
            case 0:
                tc_cstr(t, paths[RND() % (sizeof paths / sizeof paths[0])]);
                break;
            case 1:
                tc_u32(t, (uint32_t)RND() << 16 | (uint32_t)RND());
                break;
            case 2:
                tc_u64(t, (uint64_t)RND() << 40 | (uint64_t)RND());
                break;
            case 3: { /* a handle-looking string */
                char hs[9];
                for (int k = 0; k < 8; k++)
                    hs[k] = "abcdefghijklmnopqrstuvwxyz234567"[RND() % 32];
                hs[8] = '\0';
                tc_cstr(t, hs);
                break;
            }
            default: {
                uint8_t noise[40];
                size_t n = RND() % sizeof noise;
                for (size_t k = 0; k < n; k++)
                    noise[k] = (uint8_t)RND();
                sfk_wr_bytes(&t->req, noise, n);
            }
            }
        }
        if (t->req.len > 9 && RND() % 4 == 0) /* flip a byte after the id */
            t->req.data[9 + RND() % (t->req.len - 9)] ^= (uint8_t)(1 + RND() % 255);
        if (type == SSH_FXP_INIT) { /* fatal by design; checked elsewhere */
            continue;
        }
        int rc = tc_send(t);
        if (rc != 0) {
            tc_free(t);
            t = NULL;
            continue;
        }
        sent++;
        while (tc_pending(t)) {
            tc_next(t);
            answered++;
        }
        assert_int_equal(answered, sent);
        if (RND() % 500 == 0) {
            tc_free(t);
            t = NULL;
        }
    }
    if (t)
        tc_free(t);
    assert_true(sent > 3000);
#undef RND
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_negotiates_v3_and_advertises_all_extensions),
        cmocka_unit_test(test_older_client_gets_its_version),
        cmocka_unit_test(test_version_range_comes_from_the_properties),
        cmocka_unit_test(test_requests_before_init_and_a_second_init_are_fatal),
        cmocka_unit_test(test_length_over_the_limit_is_fatal_at_once),
        cmocka_unit_test(test_byte_by_byte_and_random_splits),
        cmocka_unit_test(test_truncated_requests_get_bad_message),
        cmocka_unit_test(test_unknown_requests_and_extensions),
        cmocka_unit_test(test_unknown_handles_fail_cleanly),
        cmocka_unit_test(test_pipelined_requests_are_answered_in_order_in_one_batch),
        cmocka_unit_test(test_output_is_bounded_and_resumes_on_consume),
        cmocka_unit_test(test_read_length_is_capped),
        cmocka_unit_test(test_large_writes_stream_in_pieces),
        cmocka_unit_test(test_streamed_write_reaches_the_file_early),
        cmocka_unit_test(test_streamed_write_failure),
        cmocka_unit_test(test_fuzz_random_packets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
