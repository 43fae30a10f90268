/* A tiny SFTP client for the engine tests: builds request packets, feeds them to an engine
 * (optionally cut into random pieces), and reads the replies back. Header-only; each test file
 * includes it once. */
#ifndef TEST_SFTP_HELPERS_H
#define TEST_SFTP_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sftp/engine.h"
#include "sftp/protocol.h"
#include "sftp/wire.h"
#include "sftpkit/sftpkit.h"

#define TC_FN static __attribute__((unused))

typedef struct {
    sfk_engine *e;
    sftpkit_server *s; /* NULL: an engine without a server (defaults, no events) */
    char root[256];    /* a fresh temporary directory ("" when the engine has no local FS) */
    char outside[256]; /* a sibling directory outside the root, for traversal tests */
    uint32_t next_id;
    sfk_buf req;    /* the request being built */
    uint8_t *reply; /* the last reply read (its payload, after the length) */
    size_t reply_len;
    sfk_rd rd; /* cursor over the last reply, after type and id */
    uint8_t type;
    uint32_t id;
    int split; /* feed requests in random pieces */
    unsigned seed;
} tc;

TC_FN int tc_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

TC_FN void tc_rmtree(const char *dir)
{
    if (dir[0])
        nftw(dir, tc_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A test directory: <tmp>/sfkt.XXXXXX/{root,outside}. */
TC_FN void tc_make_dirs(tc *t)
{
    char base[] = "/tmp/sfkt.XXXXXX";
    assert_non_null(mkdtemp(base));
    snprintf(t->root, sizeof t->root, "%s/root", base);
    snprintf(t->outside, sizeof t->outside, "%s/outside", base);
    assert_int_equal(mkdir(t->root, 0755), 0);
    assert_int_equal(mkdir(t->outside, 0755), 0);
}

/* cfg_root: NULL = a fresh temporary root; "" = no local file system. banner: the client's
 * identification string (NULL: unknown); cancel: the drop flag (NULL: none). */
TC_FN tc *tc_new_full(sftpkit_server *s, const char *cfg_root, int64_t conn, const char *banner,
                      const atomic_int *cancel)
{
    tc *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->s = s;
    t->seed = 12345;
    if (!cfg_root)
        tc_make_dirs(t);
    sfk_engine_config cfg = {.server = s,
                             .connection_id = conn,
                             .username = "alice",
                             .root = cfg_root ? cfg_root : t->root,
                             .client_banner = banner,
                             .cancel = cancel};
    t->e = sfk_engine_new(&cfg);
    assert_non_null(t->e);
    return t;
}

TC_FN tc *tc_new_with(sftpkit_server *s, const char *cfg_root, int64_t conn)
{
    return tc_new_full(s, cfg_root, conn, NULL, NULL);
}

TC_FN tc *tc_new(void)
{
    return tc_new_with(NULL, NULL, 1);
}

TC_FN void tc_free(tc *t)
{
    sfk_engine_free(t->e);
    if (t->root[0]) {
        char base[256];
        snprintf(base, sizeof base, "%s", t->root);
        *strrchr(base, '/') = '\0';
        chmod(t->root, 0755);
        tc_rmtree(base);
    }
    sfk_buf_free(&t->req);
    free(t->reply);
    free(t);
}

/* ---- building and sending requests ---------------------------------------------------------- */

TC_FN uint32_t tc_begin(tc *t, uint8_t type)
{
    t->req.len = 0;
    sfk_wr_u32(&t->req, 0);
    sfk_wr_u8(&t->req, type);
    uint32_t id = ++t->next_id;
    if (type != SSH_FXP_INIT)
        sfk_wr_u32(&t->req, id);
    return id;
}

#define tc_u32(t, v) sfk_wr_u32(&(t)->req, (v))
#define tc_u64(t, v) sfk_wr_u64(&(t)->req, (v))
#define tc_str(t, p, n) sfk_wr_str(&(t)->req, (p), (n))
#define tc_cstr(t, s) sfk_wr_cstr(&(t)->req, (s))

TC_FN unsigned tc_rand(tc *t)
{
    t->seed = t->seed * 1103515245u + 12345u;
    return (t->seed >> 16) & 0x7fff;
}

/* Feeds raw bytes, in random pieces when t->split is set. */
TC_FN int tc_feed(tc *t, const uint8_t *p, size_t len)
{
    if (!t->split)
        return sfk_engine_input(t->e, p, len);
    while (len) {
        size_t n = 1 + tc_rand(t) % 7;
        if (tc_rand(t) % 4 == 0)
            n = 1 + tc_rand(t) % 300;
        if (n > len)
            n = len;
        if (sfk_engine_input(t->e, p, n) != 0)
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

TC_FN int tc_send(tc *t)
{
    sfk_put_u32(t->req.data, (uint32_t)(t->req.len - 4));
    return tc_feed(t, t->req.data, t->req.len);
}

/* ---- reading replies ------------------------------------------------------------------------ */

/* Lets the engine's parallel requests (config WorkerThreads) finish and queue their replies:
 * the tests then read replies as if every handler had run inline. */
TC_FN void tc_settle(tc *t)
{
    size_t len = 0;
    for (int i = 0; i < 100; i++) { /* bounded: a deferred request may never end */
        if (sfk_engine_output(t->e, &len) && len)
            break;
        if (sfk_engine_poll(t->e, 100) == 0)
            break;
    }
}

TC_FN size_t tc_pending(tc *t)
{
    size_t len = 0;
    tc_settle(t);
    sfk_engine_output(t->e, &len);
    return len;
}

/* Takes the next reply from the engine's queue; fails the test if there is none. */
TC_FN uint8_t tc_next(tc *t)
{
    size_t len = 0;
    tc_settle(t);
    const uint8_t *out = sfk_engine_output(t->e, &len);
    assert_true(len >= 5);
    uint32_t plen = sfk_get_u32(out);
    assert_true(plen >= 1 && plen + 4 <= len);
    free(t->reply);
    t->reply = malloc(plen);
    memcpy(t->reply, out + 4, plen);
    t->reply_len = plen;
    sfk_engine_consume(t->e, 4 + plen);
    t->type = t->reply[0];
    if (t->type == SSH_FXP_VERSION) {
        t->id = 0;
        t->rd = sfk_rd_init(t->reply + 1, plen - 1);
    } else {
        assert_true(plen >= 5);
        t->id = sfk_get_u32(t->reply + 1);
        t->rd = sfk_rd_init(t->reply + 5, plen - 5);
    }
    return t->type;
}

TC_FN int tc_init(tc *t, uint32_t version)
{
    tc_begin(t, SSH_FXP_INIT);
    tc_u32(t, version);
    if (tc_send(t) != 0)
        return -1;
    assert_int_equal(tc_next(t), SSH_FXP_VERSION);
    return (int)sfk_rd_u32(&t->rd);
}

/* Expects a STATUS reply to id with the given code. */
TC_FN void tc_expect_status_(tc *t, uint32_t id, uint32_t code, const char *file, int line)
{
    uint8_t type = tc_next(t);
    if (type != SSH_FXP_STATUS)
        fail_msg("%s:%d: expected STATUS %u, got packet type %u", file, line, code, type);
    uint32_t got = sfk_rd_u32(&t->rd);
    if (got != code || t->id != id)
        fail_msg("%s:%d: expected STATUS %u for id %u, got %u for id %u", file, line, code, id, got, t->id);
}
#define tc_expect_status(t, id, code) tc_expect_status_((t), (id), (code), __FILE__, __LINE__)

/* Reads a string of the current reply into buf (NUL-terminated). */
TC_FN size_t tc_rd_cstr(tc *t, char *buf, size_t cap)
{
    size_t len;
    const uint8_t *s = sfk_rd_str(&t->rd, &len);
    assert_false(t->rd.bad);
    assert_true(len < cap);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return len;
}

/* ---- common requests ------------------------------------------------------------------------ */

typedef struct {
    char s[300];
    size_t len;
} tc_handle;

TC_FN uint32_t tc_send_path(tc *t, uint8_t type, const char *path)
{
    uint32_t id = tc_begin(t, type);
    tc_cstr(t, path);
    assert_int_equal(tc_send(t), 0);
    return id;
}

/* The reply to request id of an OPEN or OPENDIR: the status (0 and the handle in h for HANDLE). */
TC_FN uint32_t tc_handle_reply(tc *t, uint32_t id, tc_handle *h)
{
    uint8_t type = tc_next(t);
    assert_int_equal(t->id, id);
    if (type == SSH_FXP_STATUS)
        return sfk_rd_u32(&t->rd);
    assert_int_equal(type, SSH_FXP_HANDLE);
    h->len = tc_rd_cstr(t, h->s, sizeof h->s);
    return 0;
}

/* OPEN; returns the status (0 and the handle in h on success). */
TC_FN uint32_t tc_open(tc *t, const char *path, uint32_t pflags, tc_handle *h)
{
    uint32_t id = tc_begin(t, SSH_FXP_OPEN);
    tc_cstr(t, path);
    tc_u32(t, pflags);
    tc_u32(t, 0); /* no attributes */
    assert_int_equal(tc_send(t), 0);
    return tc_handle_reply(t, id, h);
}

TC_FN uint32_t tc_opendir(tc *t, const char *path, tc_handle *h)
{
    return tc_handle_reply(t, tc_send_path(t, SSH_FXP_OPENDIR, path), h);
}

TC_FN uint32_t tc_handle_req(tc *t, uint8_t type, const tc_handle *h)
{
    uint32_t id = tc_begin(t, type);
    tc_str(t, h->s, h->len);
    assert_int_equal(tc_send(t), 0);
    return id;
}

TC_FN uint32_t tc_close(tc *t, const tc_handle *h)
{
    uint32_t id = tc_handle_req(t, SSH_FXP_CLOSE, h);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

TC_FN uint32_t tc_write(tc *t, const tc_handle *h, uint64_t off, const void *data, size_t len)
{
    uint32_t id = tc_begin(t, SSH_FXP_WRITE);
    tc_str(t, h->s, h->len);
    tc_u64(t, off);
    tc_str(t, data, len);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

/* copy-data@openssh.com: len bytes of in from off to out at woff (len 0: to the end); the status. */
TC_FN uint32_t tc_copy_data(tc *t, const tc_handle *in, uint64_t off, uint64_t len, const tc_handle *out, uint64_t woff)
{
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "copy-data");
    tc_str(t, in->s, in->len);
    tc_u64(t, off);
    tc_u64(t, len);
    tc_str(t, out->s, out->len);
    tc_u64(t, woff);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

/* READ: returns the status (0 with the data in buf/len, or EOF/...). */
TC_FN uint32_t tc_read(tc *t, const tc_handle *h, uint64_t off, uint32_t want, void *buf, size_t *got)
{
    uint32_t id = tc_begin(t, SSH_FXP_READ);
    tc_str(t, h->s, h->len);
    tc_u64(t, off);
    tc_u32(t, want);
    assert_int_equal(tc_send(t), 0);
    uint8_t type = tc_next(t);
    assert_int_equal(t->id, id);
    if (type == SSH_FXP_STATUS)
        return sfk_rd_u32(&t->rd);
    assert_int_equal(type, SSH_FXP_DATA);
    size_t len;
    const uint8_t *d = sfk_rd_str(&t->rd, &len);
    assert_false(t->rd.bad);
    memcpy(buf, d, len);
    *got = len;
    return 0;
}

typedef struct {
    uint32_t flags, uid, gid, perm, atime, mtime;
    uint64_t size;
} tc_attrs;

TC_FN void tc_rd_attrs(tc *t, tc_attrs *a)
{
    memset(a, 0, sizeof *a);
    a->flags = sfk_rd_u32(&t->rd);
    if (a->flags & SSH_FILEXFER_ATTR_SIZE)
        a->size = sfk_rd_u64(&t->rd);
    if (a->flags & SSH_FILEXFER_ATTR_UIDGID) {
        a->uid = sfk_rd_u32(&t->rd);
        a->gid = sfk_rd_u32(&t->rd);
    }
    if (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS)
        a->perm = sfk_rd_u32(&t->rd);
    if (a->flags & SSH_FILEXFER_ATTR_ACMODTIME) {
        a->atime = sfk_rd_u32(&t->rd);
        a->mtime = sfk_rd_u32(&t->rd);
    }
    assert_false(t->rd.bad);
}

/* STAT/LSTAT by path; returns the status (0 with attributes in a). */
TC_FN uint32_t tc_stat(tc *t, uint8_t type, const char *path, tc_attrs *a)
{
    uint32_t id = tc_send_path(t, type, path);
    uint8_t rt = tc_next(t);
    assert_int_equal(t->id, id);
    if (rt == SSH_FXP_STATUS)
        return sfk_rd_u32(&t->rd);
    assert_int_equal(rt, SSH_FXP_ATTRS);
    tc_rd_attrs(t, a);
    return 0;
}

/* A path request answered with a STATUS; returns its code. */
TC_FN uint32_t tc_path_status(tc *t, uint8_t type, const char *path)
{
    uint32_t id = tc_send_path(t, type, path);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

TC_FN uint32_t tc_two_paths(tc *t, uint8_t type, const char *ext, const char *a, const char *b)
{
    uint32_t id = tc_begin(t, type);
    if (ext)
        tc_cstr(t, ext);
    tc_cstr(t, a);
    tc_cstr(t, b);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

/* REALPATH-like requests answered with a one-entry NAME; returns status or 0 with the name. */
TC_FN uint32_t tc_name1(tc *t, char *out, size_t cap)
{
    uint8_t type = tc_next(t);
    if (type == SSH_FXP_STATUS)
        return sfk_rd_u32(&t->rd);
    assert_int_equal(type, SSH_FXP_NAME);
    assert_int_equal(sfk_rd_u32(&t->rd), 1);
    tc_rd_cstr(t, out, cap);
    return 0;
}

/* Writes a file under the test root (host side). */
TC_FN void tc_put_file(const char *dir, const char *rel, const char *content)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

TC_FN int tc_host_exists(const char *dir, const char *rel)
{
    char p[600];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return lstat(p, &sb) == 0;
}

TC_FN size_t tc_host_read(const char *dir, const char *rel, char *buf, size_t cap)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "rb");
    if (!f)
        return (size_t)-1;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

#endif
