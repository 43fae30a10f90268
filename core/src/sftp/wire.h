/* SFTP wire encoding: a bounds-checked reader over one packet and an appending writer over a
 * growable buffer. Both are small and inline because they sit on the read/write path. Internal. */
#ifndef SFK_SFTP_WIRE_H
#define SFK_SFTP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- reader --------------------------------------------------------------------------------- */

/* A cursor over received bytes. Any read past the end sets `bad` and yields zeros, so a handler
 * parses all its fields and checks `bad` once (truncated packet -> SSH_FX_BAD_MESSAGE). */
typedef struct {
    const uint8_t *p;
    size_t left;
    int bad;
} sfk_rd;

static inline sfk_rd sfk_rd_init(const uint8_t *p, size_t len)
{
    sfk_rd r = {p, len, 0};
    return r;
}

static inline uint32_t sfk_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void sfk_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint8_t sfk_rd_u8(sfk_rd *r)
{
    if (r->left < 1) {
        r->bad = 1;
        r->left = 0;
        return 0;
    }
    r->left--;
    return *r->p++;
}

static inline uint32_t sfk_rd_u32(sfk_rd *r)
{
    if (r->left < 4) {
        r->bad = 1;
        r->left = 0;
        return 0;
    }
    uint32_t v = sfk_get_u32(r->p);
    r->p += 4;
    r->left -= 4;
    return v;
}

static inline uint64_t sfk_rd_u64(sfk_rd *r)
{
    uint64_t hi = sfk_rd_u32(r);
    return hi << 32 | sfk_rd_u32(r);
}

/* A string's bytes, borrowed from the packet (not NUL-terminated). */
static inline const uint8_t *sfk_rd_str(sfk_rd *r, size_t *len)
{
    uint32_t n = sfk_rd_u32(r);
    if (r->bad || n > r->left) {
        r->bad = 1;
        r->left = 0;
        *len = 0;
        return (const uint8_t *)"";
    }
    const uint8_t *s = r->p;
    r->p += n;
    r->left -= n;
    *len = n;
    return s;
}

/* ---- writer --------------------------------------------------------------------------------- */

/* A growable byte buffer. Growth failures set `oom` (sticky) and further writes are dropped; the
 * engine checks it after each request. Capacity is kept across uses, so the steady state
 * allocates nothing. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
    int oom;
} sfk_buf;

/* Makes room for n more bytes; 0 or -1 (oom set). */
int sfk_buf_grow(sfk_buf *b, size_t n);
void sfk_buf_free(sfk_buf *b);

static inline int sfk_buf_reserve(sfk_buf *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : sfk_buf_grow(b, n);
}

static inline void sfk_wr_u8(sfk_buf *b, uint8_t v)
{
    if (sfk_buf_reserve(b, 1) == 0)
        b->data[b->len++] = v;
}

static inline void sfk_wr_u32(sfk_buf *b, uint32_t v)
{
    if (sfk_buf_reserve(b, 4) == 0) {
        sfk_put_u32(b->data + b->len, v);
        b->len += 4;
    }
}

static inline void sfk_wr_u64(sfk_buf *b, uint64_t v)
{
    sfk_wr_u32(b, (uint32_t)(v >> 32));
    sfk_wr_u32(b, (uint32_t)v);
}

static inline void sfk_wr_bytes(sfk_buf *b, const void *p, size_t n)
{
    if (n && sfk_buf_reserve(b, n) == 0) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    }
}

static inline void sfk_wr_str(sfk_buf *b, const void *p, size_t n)
{
    sfk_wr_u32(b, (uint32_t)n);
    sfk_wr_bytes(b, p, n);
}

static inline void sfk_wr_cstr(sfk_buf *b, const char *s)
{
    sfk_wr_str(b, s, strlen(s));
}

/* Starts a packet (length placeholder, type, and the request id unless it is INIT/VERSION);
 * returns its offset for sfk_wr_end, which fills in the length. */
static inline size_t sfk_wr_begin(sfk_buf *b, uint8_t type)
{
    size_t start = b->len;
    sfk_wr_u32(b, 0);
    sfk_wr_u8(b, type);
    return start;
}

static inline void sfk_wr_end(sfk_buf *b, size_t start)
{
    if (!b->oom)
        sfk_put_u32(b->data + start, (uint32_t)(b->len - start - 4));
}

#endif
