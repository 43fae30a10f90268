/* libFuzzer target: the SFTP engine fed whole sessions. Built twice:
 *   fuzz_engine_local  the local back-end, confined to a temporary root beside a sentinel tree
 *   fuzz_engine_memfs  no local file system; samples/c/memfs serves every file operation through
 *                      the server's events (the event-driven back-end)
 *
 * Input: [mode][split][client packets after INIT ...]
 *   mode bits 0-1 (+ 4 with bit 5): the protocol version the client asks for (0..7: all the engine
 *   speaks, and one above); bit 2: read_only, bit 3: use_utf8, bit 4 (local): the component walk
 *   instead of openat2
 *   split: 0 feeds the stream in one call; else it seeds where the stream is cut (1..300 bytes a
 *          piece) and how much of the output each consume takes.
 * The target sends INIT itself, then the rest as is. Checked besides crashes (sftp_check.h,
 * sandbox.h): the reply invariants, that queued output stays bounded, that closing what is open
 * leaves no descriptor or memfs handle behind, and (local) that nothing outside the root was
 * touched. */
#include "fuzz_common.h"
#include "sandbox.h"
#include "sftp_check.h"

#include "sftp/engine.h"
#include "sftp/engine_int.h"
#include "sftpkit/sftpkit.h"

#ifdef FUZZ_MEMFS
#include "../../samples/c/memfs/memfs.c"
#endif

/* Replies queued at once: the 512 KiB back-pressure mark plus one maximal reply past it. */
#define OUT_BOUND (512u * 1024u + 2u * 1024u * 1024u)

typedef struct {
    sfk_engine *e;
    fz_session s;
    unsigned seed;
    int split;
    uint8_t *acc; /* output taken from the engine, not yet parsed into whole replies */
    size_t acc_len, acc_cap;
} run;

static unsigned next_rand(run *r)
{
    r->seed = r->seed * 1103515245u + 12345u;
    return (r->seed >> 16) & 0x7fff;
}

/* Takes all queued output (in pieces when splitting) and checks each whole reply. */
static void drain(run *r)
{
    for (;;) {
        size_t len = 0;
        const uint8_t *out = sfk_engine_output(r->e, &len);
        if (!len)
            break;
        fuzz_check(len <= OUT_BOUND, "%zu bytes of replies queued at once", len);
        size_t take = r->split ? 1 + next_rand(r) * 37 % len : len;
        if (r->acc_len + take > r->acc_cap) {
            r->acc_cap = (r->acc_len + take) * 2;
            r->acc = realloc(r->acc, r->acc_cap);
            if (!r->acc)
                abort();
        }
        memcpy(r->acc + r->acc_len, out, take);
        r->acc_len += take;
        sfk_engine_consume(r->e, take);
        size_t off = 0;
        while (r->acc_len - off >= 4) {
            uint32_t plen = sfk_get_u32(r->acc + off);
            fuzz_check(plen <= OUT_BOUND, "reply length %u", plen);
            if (r->acc_len - off - 4 < plen)
                break;
            fz_check_reply(&r->s, r->acc + off + 4, plen);
            off += 4 + (size_t)plen;
        }
        memmove(r->acc, r->acc + off, r->acc_len - off);
        r->acc_len -= off;
    }
    fuzz_check(r->acc_len == 0, "the output queue ended inside a reply (%zu bytes)", r->acc_len);
}

/* Feeds the stream, cut as the split byte says; returns the engine's last result. */
static int feed(run *r, const uint8_t *p, size_t len)
{
    int rc = 0;
    while (len && rc == 0) {
        size_t n = len;
        if (r->split) {
            n = 1 + next_rand(r) % 7;
            if (next_rand(r) % 4 == 0)
                n = 1 + next_rand(r) % 300;
            if (n > len)
                n = len;
        }
        rc = sfk_engine_input(r->e, p, n);
        p += n, len -= n;
        drain(r);
    }
    return rc;
}

static sftpkit_server *server;
#ifdef FUZZ_MEMFS
static memfs *fs;
#else
static sandbox sb;
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    server = sftpkit_server_new();
    fuzz_check(server != NULL, "sftpkit_server_new");
#ifndef FUZZ_MEMFS
    sandbox_init(&sb);
#endif
    return 0;
}

/* Closes every handle the session still has; each must close. */
static void close_all(run *r, uint32_t *next_id)
{
    while (r->s.nopen) {
        fz_handle h = r->s.open[r->s.nopen - 1];
        sfk_buf b = {0};
        sfk_wr_u32(&b, 0);
        sfk_wr_u8(&b, SSH_FXP_CLOSE);
        uint32_t id = (*next_id)++;
        sfk_wr_u32(&b, id);
        sfk_wr_str(&b, h.s, h.len);
        sfk_put_u32(b.data, (uint32_t)(b.len - 4));
        /* the model learns of the request, then sees its reply */
        fz_req *q = realloc(r->s.reqs, (r->s.nreqs + 1) * sizeof *q);
        if (!q)
            abort();
        r->s.reqs = q;
        fz_req close_req = {.type = FZ_CLOSE, .id = id, .has_handle = 1};
        uint8_t *copy = malloc(h.len);
        memcpy(copy, h.s, h.len);
        close_req.handle = copy;
        close_req.handle_len = h.len;
        r->s.reqs[r->s.nreqs++] = close_req;
        size_t before = r->s.nopen;
        fuzz_check(sfk_engine_input(r->e, b.data, b.len) == 0, "CLOSE of an open handle failed the channel");
        drain(r);
        fuzz_check(r->s.nopen == before - 1, "CLOSE of open handle \"%.*s\" did not succeed", (int)h.len, h.s);
        free(copy);
        sfk_buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 256 * 1024)
        return 0;
    uint8_t mode = data[0], split = data[1];
    data += 2, size -= 2;

    sftpkit_server_set_read_only(server, (mode >> 2) & 1);
    sftpkit_server_set_use_utf8(server, (mode >> 3) & 1);
#ifdef FUZZ_MEMFS
    fs = memfs_new();
    fuzz_check(fs && memfs_install(server, fs) == 0, "memfs_install"); /* frees the previous memfs */
    memfs_mkdir(fs, "/d");
    memfs_put(fs, "/d/f", "hello, fuzz\n", 12);
    const char *root = "";
#else
    static int dirty = 1;
    if (dirty) /* rebuilt only after an input that could change it: resets cost a third of a run */
        sandbox_reset_root(&sb);
    const char *root = sb.root;
#endif
    int fds_before = fuzz_open_fds();
    sfk_engine_config cfg = {.server = server, .connection_id = 1, .username = "fuzz", .root = root};
    run r = {.seed = split, .split = split != 0};
    r.e = sfk_engine_new(&cfg);
    fuzz_check(r.e != NULL, "sfk_engine_new");
#ifndef FUZZ_MEMFS
    sfk_fs_force_walk(r.e->fs, (mode >> 4) & 1);
#endif
    int fds_engine = fuzz_open_fds();
    (void)fds_engine; /* (memfs: its own open lists are checked instead) */

    /* INIT, then the input */
    uint8_t *stream = malloc(9 + size);
    if (!stream)
        abort();
    sfk_put_u32(stream, 5);
    stream[4] = SSH_FXP_INIT;
    sfk_put_u32(stream + 5, (mode & 3u) + ((mode >> 5) & 1u) * 4u); /* bit 5: v4..v7 */
    memcpy(stream + 9, data, size);
    fz_session_frame(&r.s, stream, 9 + size);

#ifndef FUZZ_MEMFS
    dirty = 0;
    for (size_t i = 0; i < r.s.nreqs; i++)
        dirty |= r.s.reqs[i].type == SSH_FXP_OPEN || r.s.reqs[i].type == SSH_FXP_WRITE ||
                 r.s.reqs[i].type == SSH_FXP_SETSTAT || r.s.reqs[i].type == SSH_FXP_FSETSTAT ||
                 (r.s.reqs[i].type >= SSH_FXP_REMOVE && r.s.reqs[i].type <= SSH_FXP_RMDIR) ||
                 r.s.reqs[i].type == SSH_FXP_RENAME || r.s.reqs[i].type == SSH_FXP_SYMLINK ||
                 r.s.reqs[i].type == SSH_FXP_LINK || r.s.reqs[i].type == SSH_FXP_EXTENDED;
#endif
    int rc = feed(&r, stream, 9 + size);
    fuzz_check((rc != 0) == r.s.fatal_expected, "engine %s the channel, but the stream is %s", rc ? "failed" : "kept",
               r.s.fatal_expected ? "broken" : "valid");
    if (!rc) {
        fuzz_check(r.s.answered == r.s.nreqs, "%zu of %zu requests unanswered", r.s.nreqs - r.s.answered, r.s.nreqs);
        if (r.s.ends_on_boundary) { /* (else the CLOSEs would land inside the pending packet) */
            uint32_t id = 0x7f000000u;
            close_all(&r, &id);
#ifdef FUZZ_MEMFS
            fuzz_check(!fs->files && !fs->listings, "memfs still has open files or listings after every CLOSE");
#else
            fuzz_check(fuzz_open_fds() == fds_engine, "descriptors leaked: %d open after every CLOSE, %d before",
                       fuzz_open_fds(), fds_engine);
#endif
        }
    }
    sfk_engine_free(r.e);
    fuzz_check(fuzz_open_fds() == fds_before, "descriptors leaked past sfk_engine_free: %d, %d before", fuzz_open_fds(),
               fds_before);
#ifndef FUZZ_MEMFS
    sandbox_check(&sb);
#endif
    fz_session_free(&r.s);
    free(r.acc);
    free(stream);
    return 0;
}
