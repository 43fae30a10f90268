/* The SFTP loop's read counts (server/channel_window.c) against a model of libssh 0.10.6's
 * channel window rules (channels.c: ssh_channel_read_timeout, grow_window, channel_rcv_data):
 * an upload of 1 GiB in 32 KiB packets must cost one WINDOW_ADJUST per half window, not one per
 * read, and the client must never be left with less than half the window.
 * How it failed once: with the count fixed at the full window (the code before issue 19), the
 * adjust count of test_upload_adjusts_once_per_half_window was one per read (32 768). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include "server/channel_window.h"

#define WINDOWBASE 1280000u /* libssh's hard-coded window and its half */
#define WINDOWLIMIT (WINDOWBASE / 2)
#define FULL (4u << 20)

typedef struct {
    uint32_t window;   /* local_window: what the client may still send */
    uint32_t buffered; /* received, not yet read */
    uint64_t adjusts;
} model;

static void grow(model *m, uint32_t minimum)
{
    uint32_t want = minimum > WINDOWBASE ? minimum : WINDOWBASE;
    if (want > m->window) {
        m->window = want;
        m->adjusts++;
    }
}

static void receive(model *m, uint32_t len) /* channel_rcv_data */
{
    assert_true(len <= m->window); /* the client keeps to the window */
    m->window -= len;
    m->buffered += len;
    if (m->window + m->buffered < WINDOWLIMIT)
        grow(m, 0);
}

static uint32_t read_upto(model *m, uint32_t count) /* ssh_channel_read_timeout, data present */
{
    if (count > m->buffered + m->window)
        grow(m, count - m->buffered);
    uint32_t n = m->buffered < count ? m->buffered : count;
    m->buffered -= n;
    if (m->window < WINDOWLIMIT)
        grow(m, 0);
    return n;
}

/* Upload `total` bytes: the client sends 32 KiB packets while the window allows, the server reads
 * after every `packets_per_read` packets (1 = keeps up, larger = the engine is busy). */
static uint64_t upload(uint64_t total, int packets_per_read, uint32_t *least_window)
{
    model m = {.window = 32000}; /* libssh's initial window for an accepted channel */
    sfk_channel_window w;
    sfk_channel_window_init(&w, FULL);
    uint64_t sent = 0, got = 0;
    *least_window = UINT32_MAX;
    int first = 1;
    while (got < total) {
        for (int p = 0; p < packets_per_read && sent < total; p++) {
            uint32_t len = 32768;
            if (len > m.window)
                break; /* the client waits for an adjust */
            receive(&m, len);
            sent += len;
        }
        uint32_t count = sfk_channel_window_count(&w);
        assert_true(count > 0 && count <= FULL); /* never more than the read buffer */
        uint32_t n = read_upto(&m, count);
        sfk_channel_window_read(&w, n);
        got += n;
        if (!first && m.window + m.buffered < *least_window)
            *least_window = m.window + m.buffered;
        first = 0;
    }
    return m.adjusts;
}

static void test_upload_adjusts_once_per_half_window(void **state)
{
    (void)state;
    uint32_t least;
    uint64_t adjusts = upload(1ull << 30, 1, &least);
    /* 1 GiB / 2 MiB = 512 full asks, plus the first */
    assert_in_range(adjusts, 500, 520);
    assert_true(least >= FULL / 2); /* the client always had at least half the window */
}

static void test_busy_engine_still_bounded(void **state)
{
    (void)state;
    for (int batch = 2; batch <= 64; batch *= 2) {
        uint32_t least;
        uint64_t adjusts = upload(256ull << 20, batch, &least);
        assert_true(adjusts <= 140); /* ~ 256 MiB / 2 MiB, libssh's own grows aside */
        assert_true(least >= FULL / 2);
    }
}

static void test_counts_stay_within_the_known_window(void **state)
{
    (void)state;
    sfk_channel_window w;
    sfk_channel_window_init(&w, FULL);
    assert_int_equal(sfk_channel_window_count(&w), FULL); /* first read: grow to the full window */
    sfk_channel_window_read(&w, 0);                       /* a timeout: the adjust went out anyway */
    assert_int_equal(sfk_channel_window_count(&w), FULL);
    sfk_channel_window_read(&w, 100000);
    assert_int_equal(sfk_channel_window_count(&w), FULL - 100000);
    sfk_channel_window_read(&w, FULL / 2 - 100000);
    assert_int_equal(sfk_channel_window_count(&w), FULL); /* half used: ask for all of it again */
    sfk_channel_window_read(&w, 5);
    assert_int_equal(sfk_channel_window_count(&w), FULL - 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_adjusts_once_per_half_window),
        cmocka_unit_test(test_busy_engine_still_bounded),
        cmocka_unit_test(test_counts_stay_within_the_known_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
