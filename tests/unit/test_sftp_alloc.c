/* The read/write path allocates nothing per request once its buffers have reached working size.
 * This test counts malloc/calloc/realloc calls made inside the engine by interposing the
 * allocator (delegating to glibc's __libc_* functions). AddressSanitizer owns the allocator, so
 * an ASan build runs the same transfers as a memory-error test instead (under another name). */
#include "test_sftp_helpers.h"

#if !defined(__SANITIZE_ADDRESS__)
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

/* Feeds `rounds` batches of `per` pipelined WRITEs then READs of 64 KiB each and drains the
 * replies, counting allocations inside the engine calls only. Returns the count (0 when not
 * counting). */
static long pipelined_io(tc *t, const tc_handle *h, int rounds, int per)
{
    static uint8_t chunk[65536];
    sfk_buf batch = {0};
    long total = 0;
    for (int round = 0; round < rounds; round++) {
        for (int kind = 0; kind < 2; kind++) {
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
                size_t len;
                while (sfk_engine_output(t->e, &len) && len)
                    sfk_engine_consume(t->e, len);
            }
#ifdef COUNTING
            counting = 0;
            total += allocations - before;
#endif
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
