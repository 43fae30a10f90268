/* The read/write path allocates nothing per request once its buffers have reached working size.
 * This test counts malloc/calloc/realloc calls made inside the engine by interposing the
 * allocator (delegating to glibc's __libc_* functions). AddressSanitizer and ThreadSanitizer own
 * the allocator, so their builds run the same transfers as a memory-error test instead (under
 * another name). */
#include "test_sftp_helpers.h"

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define COUNTING 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static int counting;
static long allocations;

void *malloc(size_t n)
{
    if (counting)
        allocations++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    if (counting)
        allocations++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    if (counting)
        allocations++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

#define PER_BATCH_MAX 64
static uint8_t chunk[65536];

/* What a batch's replies must be: one per request id in [first, first + per), a STATUS OK for a
 * WRITE, a DATA of the whole chunk for a READ. Checked in place (no allocation, so it can run
 * inside the counted region): without it, a test where every request failed would pass. */
typedef struct {
    uint32_t first;
    int per, kind, got;
    uint8_t seen[PER_BATCH_MAX];
} batch_check;

static void check_reply(batch_check *c, const uint8_t *p, uint32_t plen)
{
    if (plen < 5)
        fail_msg("reply of %u bytes", plen);
    uint32_t id = sfk_get_u32(p + 1);
    if (id < c->first || id >= c->first + (uint32_t)c->per || c->seen[id - c->first])
        fail_msg("reply for unexpected or repeated id %u", id);
    c->seen[id - c->first] = 1;
    c->got++;
    if (c->kind == 0) {
        if (p[0] != SSH_FXP_STATUS || plen < 9 || sfk_get_u32(p + 5) != SSH_FX_OK)
            fail_msg("WRITE %u: reply type %u status %u, want STATUS OK", id, p[0], plen >= 9 ? sfk_get_u32(p + 5) : 0);
        return;
    }
    if (p[0] != SSH_FXP_DATA || plen < 9)
        fail_msg("READ %u: reply type %u, want DATA", id, p[0]);
    uint32_t n = sfk_get_u32(p + 5);
    if (n != sizeof chunk || plen != 9 + n || memcmp(p + 9, chunk, n) != 0)
        fail_msg("READ %u: %u bytes, not the chunk written", id, n);
}

/* Checks and consumes the complete replies queued now; a partial one stays for the next call. */
static void drain_replies(tc *t, batch_check *c)
{
    for (;;) {
        size_t len = 0;
        const uint8_t *out = sfk_engine_output(t->e, &len);
        size_t used = 0;
        while (len - used >= 4 && len - used - 4 >= sfk_get_u32(out + used)) {
            uint32_t plen = sfk_get_u32(out + used);
            check_reply(c, out + used + 4, plen);
            used += 4 + plen;
        }
        if (!used)
            return;
        sfk_engine_consume(t->e, used);
    }
}

/* Feeds `rounds` batches of `per` pipelined WRITEs then READs of 64 KiB each and checks every
 * reply, counting allocations inside the engine calls only. Returns the count (0 when not
 * counting). */
static long pipelined_io(tc *t, const tc_handle *h, int rounds, int per)
{
    sfk_buf batch = {0};
    long total = 0;
    assert_true(per <= PER_BATCH_MAX);
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (uint8_t)(i * 7 + i / 251);
    for (int round = 0; round < rounds; round++) {
        for (int kind = 0; kind < 2; kind++) {
            batch_check c = {.first = t->next_id + 1, .per = per, .kind = kind};
            batch.len = 0;
            for (int i = 0; i < per; i++) {
                tc_begin(t, kind ? SSH_FXP_READ : SSH_FXP_WRITE);
                tc_str(t, h->s, h->len);
                tc_u64(t, (uint64_t)i * sizeof chunk);
                if (kind)
                    tc_u32(t, sizeof chunk);
                else
                    tc_str(t, chunk, sizeof chunk);
                sfk_put_u32(t->req.data, (uint32_t)(t->req.len - 4));
                sfk_wr_bytes(&batch, t->req.data, t->req.len);
            }
#ifdef COUNTING
            long before = allocations;
            counting = 1;
#endif
            /* in transport-sized pieces, so packets are cut across calls */
            for (size_t off = 0; off < batch.len;) {
                size_t n = batch.len - off < 100000 ? batch.len - off : 100000;
                assert_int_equal(sfk_engine_input(t->e, batch.data + off, n), 0);
                off += n;
                drain_replies(t, &c);
            }
#ifdef COUNTING
            counting = 0;
            total += allocations - before;
#endif
            if (c.got != per)
                fail_msg("%d replies for %d requests", c.got, per);
        }
    }
    sfk_buf_free(&batch);
    return total;
}

static void run(sftpkit_server *s)
{
    tc *t = tc_new_with(s, NULL, 9);
    assert_int_equal(tc_init(t, 3), 3);
    tc_handle h;
    assert_int_equal(tc_open(t, "data", SSH_FXF_READ | SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    pipelined_io(t, &h, 3, 40); /* warm-up: buffers grow to their working size */
    long n = pipelined_io(t, &h, 10, 40);
#ifdef COUNTING
    if (n != 0)
        fail_msg("%ld allocations for 800 READ/WRITE requests", n);
#else
    (void)n;
#endif
    assert_int_equal(tc_pending(t), 0);
    assert_int_equal(tc_close(t, &h), 0);
    tc_free(t);
}

static void with_server(void)
{
    sftpkit_server *s = sftpkit_server_new(); /* properties and events in play, no handler */
    run(s);
    sftpkit_server_free(s);
}

#ifdef COUNTING
static void test_read_write_path_allocates_nothing(void **state)
{
    (void)state;
    run(NULL);
}

static void test_read_write_path_allocates_nothing_with_a_server(void **state)
{
    (void)state;
    with_server();
}
#else
/* Under ASan: the same pipelined transfers, checked for memory errors only (not counted). */
static void test_pipelined_io_memory_errors(void **state)
{
    (void)state;
    run(NULL);
    with_server();
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef COUNTING
        cmocka_unit_test(test_read_write_path_allocates_nothing),
        cmocka_unit_test(test_read_write_path_allocates_nothing_with_a_server),
#else
        cmocka_unit_test(test_pipelined_io_memory_errors),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
