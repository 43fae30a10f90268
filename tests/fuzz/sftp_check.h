/* The fuzz session's model of an SFTP v0..v6 conversation, written independently of the engine
 * (no engine parser is reused, so a parser bug cannot hide itself): it frames the client stream
 * the way the protocol says, then checks every reply the engine queues against it.
 *
 * Invariants (each a fuzz_check, i.e. a crash libFuzzer keeps):
 *   - the first reply is VERSION; every later one is well-formed for its type and consumes its
 *     packet exactly;
 *   - every request gets exactly one reply, with its id, in request order; a packet too short to
 *     carry an id is answered with id 0 and SSH_FX_BAD_MESSAGE;
 *   - a reply's type fits its request (HANDLE only for OPEN/OPENDIR, DATA only for READ, ...); a
 *     READ never returns more than it asked for; REALPATH answers one absolute, normalized name;
 *     READDIR names have no '/';
 *   - handles: a new handle is not one already open; CLOSE succeeds only on an open handle and
 *     retires it; a retired or unknown handle never yields DATA/NAME/ATTRS or an OK status (CLOSE,
 *     WRITE, FSETSTAT, v6 BLOCK/UNBLOCK);
 *   - per version: VERSION as INIT asked (at most 6), STATUS codes within the version's set,
 *     attributes in the version's layout (v4+: type byte, only its defined flags), v4+ NAME
 *     entries without a long name, a version-select OK switching the model's version;
 *   - EXTENDED_REPLY of a fixed shape: statvfs, space-available, check-file-* (the algorithm is one
 *     asked for, whole hashes of its size);
 *   - the engine fails the channel exactly when the stream is broken (bad length, second INIT).
 * Header-only; one target includes it. */
#ifndef SFK_FUZZ_SFTP_CHECK_H
#define SFK_FUZZ_SFTP_CHECK_H

#include <string.h>

#include "fuzz_common.h"

enum {
    FZ_INIT = 1,
    FZ_VERSION = 2,
    FZ_OPEN = 3,
    FZ_CLOSE = 4,
    FZ_READ = 5,
    FZ_WRITE = 6,
    FZ_LSTAT = 7,
    FZ_FSTAT = 8,
    FZ_SETSTAT = 9,
    FZ_FSETSTAT = 10,
    FZ_OPENDIR = 11,
    FZ_READDIR = 12,
    FZ_REALPATH = 16,
    FZ_STAT = 17,
    FZ_READLINK = 19,
    FZ_LINK = 21,    /* v6 */
    FZ_BLOCK = 22,   /* v6 */
    FZ_UNBLOCK = 23, /* v6 */
    FZ_STATUS = 101,
    FZ_HANDLE = 102,
    FZ_DATA = 103,
    FZ_NAME = 104,
    FZ_ATTRS = 105,
    FZ_EXTENDED = 200,
    FZ_EXTENDED_REPLY = 201,
};
#define FZ_MAX_PACKET (1024u * 1024u) /* what the engine accepts (SFK_SFTP_MAX_PACKET_ACCEPTED) */
#define FZ_MAX_HANDLE 256u

typedef struct {
    uint8_t type;
    uint32_t id;
    int short_packet;      /* no room for an id */
    const uint8_t *handle; /* the first string, for requests on a handle */
    size_t handle_len;
    int has_handle;
    uint32_t read_len;  /* READ's length */
    int selects;        /* a valid version-select: the version an OK switches to (else 0) */
    const uint8_t *ext; /* EXTENDED: the request name (and its hash list for check-file-*) */
    size_t ext_len;
    const uint8_t *hashes;
    size_t hashes_len;
} fz_req;

typedef struct {
    uint8_t *s;
    size_t len;
} fz_handle;

typedef struct {
    fz_req *reqs;
    size_t nreqs, answered;
    int fatal_expected; /* the stream holds a broken packet: the engine must fail the channel */
    int ends_on_boundary;
    int got_version, version;
    uint32_t init_version; /* what the target's INIT asked for */
    fz_handle *open;
    size_t nopen, capopen;
} fz_session;

/* ---- a bounds-checked reader (the checker's own, not the engine's) --------------------------- */

typedef struct {
    const uint8_t *p;
    size_t left;
    int bad;
} fz_rd;

FUZZ_FN uint32_t fz_u32(fz_rd *r)
{
    if (r->left < 4) {
        r->bad = 1;
        r->left = 0;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    r->left -= 4;
    return v;
}

FUZZ_FN uint64_t fz_u64(fz_rd *r)
{
    uint64_t hi = fz_u32(r);
    return hi << 32 | fz_u32(r);
}

FUZZ_FN const uint8_t *fz_str(fz_rd *r, size_t *len)
{
    uint32_t n = fz_u32(r);
    if (r->bad || n > r->left) {
        r->bad = 1;
        r->left = 0;
        *len = 0;
        return NULL;
    }
    const uint8_t *s = r->p;
    r->p += n;
    r->left -= n;
    *len = n;
    return s;
}

/* ATTRS of the negotiated version: v0..v3 (draft -02), v4 (-04), v5 (-05), v6 (-13). Only the flags
 * each version defines may be set; the v4+ type byte is one of the version's types. */
FUZZ_FN void fz_attrs(fz_rd *r, int version)
{
    uint32_t flags = fz_u32(r);
    if (version <= 3) {
        fuzz_check(!(flags & ~0x8000000fu), "attribute flags 0x%x carry undefined bits", flags);
        if (flags & 1)
            fz_u64(r);
        if (flags & 2)
            fz_u32(r), fz_u32(r);
        if (flags & 4)
            fz_u32(r);
        if (flags & 8)
            fz_u32(r), fz_u32(r);
    } else {
        uint32_t defined = version == 4 ? 0x800001fdu : version == 5 ? 0x800003fdu : 0x8000fffdu;
        fuzz_check(!(flags & ~defined), "v%d attribute flags 0x%x carry undefined bits", version, flags);
        uint8_t type = r->left ? r->p[0] : 0;
        if (r->left)
            r->p++, r->left--;
        else
            r->bad = 1;
        fuzz_check(r->bad || (type >= 1 && type <= (version == 4 ? 5 : 9)), "v%d file type %u", version, type);
        size_t len;
        if (flags & 0x1)
            fz_u64(r);
        if (flags & 0x400)
            fz_u64(r);
        if (flags & 0x80)
            fz_str(r, &len), fz_str(r, &len);
        if (flags & 0x4)
            fz_u32(r);
        for (uint32_t bit = 0x8; bit <= 0x20; bit <<= 1) /* access, create, modify */
            if (flags & bit) {
                fz_u64(r);
                if (flags & 0x100)
                    fuzz_check(fz_u32(r) <= 999999999u || r->bad, "nanoseconds past a second");
            }
        if (flags & 0x8000) {
            fz_u64(r);
            if (flags & 0x100)
                fz_u32(r);
        }
        if (flags & 0x40)
            fz_str(r, &len);
        if (flags & 0x200) {
            fz_u32(r);
            if (version >= 6)
                fz_u32(r);
        }
        if (flags & 0x800)
            r->left ? (void)(r->p++, r->left--) : (void)(r->bad = 1);
        if (flags & 0x1000)
            fz_str(r, &len);
        if (flags & 0x2000)
            fz_u32(r);
        if (flags & 0x4000)
            fz_str(r, &len);
    }
    if (flags & 0x80000000u) {
        uint32_t n = fz_u32(r);
        fuzz_check(n <= r->left / 8, "%u extended attributes cannot fit", n);
        size_t len;
        for (uint32_t i = 0; i < n && !r->bad; i++)
            fz_str(r, &len), fz_str(r, &len);
    }
}

/* ---- the client stream ------------------------------------------------------------------------ */

/* Frames the whole client stream (INIT first) into requests and predicts whether the engine must
 * fail the channel. Pointers into stream stay valid while the session runs. */
FUZZ_FN void fz_session_frame(fz_session *s, const uint8_t *stream, size_t len)
{
    memset(s, 0, sizeof *s);
    s->reqs = calloc(len / 5 + 1, sizeof *s->reqs);
    if (!s->reqs)
        abort();
    size_t off = 0;
    int first = 1;
    s->ends_on_boundary = 1;
    while (len - off >= 4) {
        fz_rd r = {stream + off, len - off, 0};
        uint32_t plen = fz_u32(&r);
        if (plen == 0 || plen > FZ_MAX_PACKET) {
            s->fatal_expected = 1;
            return;
        }
        if (r.left < plen) {
            s->ends_on_boundary = 0;
            return;
        }
        r.left = plen;
        off += 4 + (size_t)plen;
        uint8_t type = r.p[0];
        r.p++, r.left--;
        if (first) { /* the target always starts with its own INIT */
            first = 0;
            s->init_version = fz_u32(&r);
            continue;
        }
        if (type == FZ_INIT) {
            s->fatal_expected = 1;
            return;
        }
        fz_req *q = &s->reqs[s->nreqs++];
        q->type = type;
        if (plen < 5) {
            q->short_packet = 1;
            continue;
        }
        q->id = fz_u32(&r);
        switch (type) {
        case FZ_CLOSE:
        case FZ_READ:
        case FZ_WRITE:
        case FZ_FSTAT:
        case FZ_FSETSTAT:
        case FZ_READDIR:
        case FZ_BLOCK:
        case FZ_UNBLOCK:
            q->handle = fz_str(&r, &q->handle_len);
            q->has_handle = !r.bad;
            if (type == FZ_READ) {
                fz_u64(&r);
                q->read_len = fz_u32(&r);
            }
            break;
        case FZ_EXTENDED: {
            /* version-select (v3+): valid only as the first request, naming 3..6; else the
             * engine answers and closes the channel (a truncated one is just BAD_MESSAGE) */
            size_t n, vlen;
            const uint8_t *name = fz_str(&r, &n);
            if (!r.bad) {
                q->ext = name, q->ext_len = n;
                if ((n == 17 && !memcmp(name, "check-file-handle", 17)) ||
                    (n == 15 && !memcmp(name, "check-file-name", 15))) {
                    fz_rd h = r; /* handle-or-name, then the hash algorithms asked for */
                    size_t l;
                    fz_str(&h, &l);
                    q->hashes = fz_str(&h, &q->hashes_len);
                    if (h.bad)
                        q->hashes = NULL;
                }
            }
            if (r.bad || s->init_version < 3 || n != 14 || memcmp(name, "version-select", 14))
                break;
            const uint8_t *v = fz_str(&r, &vlen);
            if (r.bad)
                break;
            if (s->nreqs == 1 && vlen == 1 && v[0] >= '3' && v[0] <= '6') {
                q->selects = v[0] - '0';
                break;
            }
            s->fatal_expected = 1;
            return;
        }
        default:
            break;
        }
    }
    if (len != off)
        s->ends_on_boundary = 0;
}

FUZZ_FN void fz_session_free(fz_session *s)
{
    for (size_t i = 0; i < s->nopen; i++)
        free(s->open[i].s);
    free(s->open);
    free(s->reqs);
    memset(s, 0, sizeof *s);
}

FUZZ_FN long fz_find_open(const fz_session *s, const uint8_t *h, size_t len)
{
    for (size_t i = 0; i < s->nopen; i++)
        if (s->open[i].len == len && !memcmp(s->open[i].s, h, len))
            return (long)i;
    return -1;
}

/* ---- the replies ------------------------------------------------------------------------------ */

FUZZ_FN void fz_check_version(fz_session *s, fz_rd *r)
{
    uint32_t v = fz_u32(r);
    fuzz_check(!r->bad && v <= 6, "VERSION %u (the engine speaks 0..6)", v);
    fuzz_check(v == (s->init_version < 6 ? s->init_version : 6), "VERSION %u for INIT %u", v, s->init_version);
    s->version = (int)v;
    while (r->left && !r->bad) { /* extension-name, extension-data pairs */
        size_t n;
        fz_str(r, &n);
        fz_str(r, &n);
    }
    fuzz_check(!r->bad, "VERSION extensions are not string pairs");
}

/* A normalized absolute path: "/" or "/a/b", no empty, "." or ".." component. */
FUZZ_FN int fz_normalized_absolute(const uint8_t *p, size_t len)
{
    if (!len || p[0] != '/')
        return 0;
    if (len == 1)
        return 1;
    if (p[len - 1] == '/')
        return 0;
    size_t start = 1;
    for (size_t i = 1; i <= len; i++) {
        if (i < len && p[i] != '/')
            continue;
        size_t n = i - start;
        if (n == 0 || (n == 1 && p[start] == '.') || (n == 2 && p[start] == '.' && p[start + 1] == '.'))
            return 0;
        start = i + 1;
    }
    return 1;
}

FUZZ_FN void fz_check_name(fz_session *s, const fz_req *q, fz_rd *r)
{
    uint32_t n = fz_u32(r);
    /* the smallest entry: name and flags, plus the long name (v0..v3) or the type byte (v4+) */
    fuzz_check(!r->bad && n <= r->left / (s->version <= 3 ? 12 : 9), "NAME count %u cannot fit", n);
    if (q->type == FZ_REALPATH || q->type == FZ_READLINK)
        fuzz_check(n == 1, "%s answered with %u names", q->type == FZ_REALPATH ? "REALPATH" : "READLINK", n);
    if (q->type == FZ_READDIR)
        fuzz_check(n >= 1, "READDIR answered with an empty NAME (EOF is a STATUS)");
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        size_t len, llen;
        const uint8_t *name = fz_str(r, &len);
        if (s->version <= 3) /* v4 dropped the long name */
            fz_str(r, &llen);
        fz_attrs(r, s->version);
        fuzz_check(!r->bad, "NAME entry %u malformed", i);
        if (q->type == FZ_REALPATH)
            fuzz_check(fz_normalized_absolute(name, len), "REALPATH answered \"%.*s\"", (int)len, name);
        if (q->type == FZ_READDIR)
            fuzz_check(len && !memchr(name, '/', len), "READDIR listed \"%.*s\"", (int)len, name);
    }
}

FUZZ_FN int fz_is(const uint8_t *s, size_t len, const char *name)
{
    return s && len == strlen(name) && !memcmp(s, name, len);
}

/* Is `name` one of the comma-separated names in list? */
FUZZ_FN int fz_in_list(const uint8_t *list, size_t list_len, const uint8_t *name, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= list_len; i++)
        if (i == list_len || list[i] == ',') {
            if (i - start == len && !memcmp(list + start, name, len))
                return 1;
            start = i + 1;
        }
    return 0;
}

/* The EXTENDED_REPLY forms of the extensions whose reply has a fixed shape: statvfs (11 u64),
 * space-available (-13: 4 u64 and a u32), check-file-* (-13 9.1.2: "check-file", the algorithm
 * used, one of those asked for, then whole hashes of its size). Others are consumed unchecked. */
FUZZ_FN void fz_check_extended_reply(const fz_req *q, fz_rd *r)
{
    if (fz_is(q->ext, q->ext_len, "statvfs@openssh.com") || fz_is(q->ext, q->ext_len, "fstatvfs@openssh.com")) {
        fuzz_check(r->left == 88, "statvfs reply of %zu bytes", r->left);
    } else if (fz_is(q->ext, q->ext_len, "space-available")) {
        fuzz_check(r->left == 36, "space-available reply of %zu bytes", r->left);
    } else if (q->hashes) {
        size_t n;
        const uint8_t *tag = fz_str(r, &n);
        fuzz_check(!r->bad && fz_is(tag, n, "check-file"), "check-file reply without its \"check-file\" tag");
        const uint8_t *alg = fz_str(r, &n);
        fuzz_check(!r->bad && fz_in_list(q->hashes, q->hashes_len, alg, n),
                   "check-file answered with \"%.*s\", not one asked for", (int)n, alg);
        static const struct {
            const char *name;
            size_t size;
        } sizes[] = {{"md5", 16}, {"sha1", 20}, {"sha224", 28}, {"sha256", 32}, {"sha384", 48}, {"sha512", 64}};
        size_t size = 0;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            if (fz_is(alg, n, sizes[i].name))
                size = sizes[i].size;
        fuzz_check(size && r->left % size == 0, "check-file %.*s: %zu bytes of hashes", (int)n, alg, r->left);
    }
    r->p += r->left;
    r->left = 0;
}

/* Checks one reply packet (payload after the length) against the oldest unanswered request. */
FUZZ_FN void fz_check_reply(fz_session *s, const uint8_t *p, size_t plen)
{
    fuzz_check(plen >= 1, "empty reply packet");
    fz_rd r = {p + 1, plen - 1, 0};
    uint8_t type = p[0];
    if (!s->got_version) {
        fuzz_check(type == FZ_VERSION, "first reply has type %u, not VERSION", type);
        s->got_version = 1;
        fz_check_version(s, &r);
        return;
    }
    fuzz_check(plen >= 5, "reply of type %u without an id", type);
    uint32_t id = fz_u32(&r);
    fuzz_check(s->answered < s->nreqs, "reply (type %u, id %u) to no outstanding request", type, id);
    fz_req *q = &s->reqs[s->answered++];
    fuzz_check(id == (q->short_packet ? 0 : q->id), "reply id %u, but the oldest request (type %u) has id %u", id,
               q->type, q->id);
    int known = q->has_handle && fz_find_open(s, q->handle, q->handle_len) >= 0;
    switch (type) {
    case FZ_STATUS: {
        uint32_t code = fz_u32(&r);
        uint32_t max = s->version <= 3 ? 8 : s->version == 4 ? 13 : s->version == 5 ? 17 : 31;
        fuzz_check(!r.bad && code <= max, "STATUS code %u beyond v%d's set", code, s->version);
        if (q->selects && code == 0)
            s->version = q->selects; /* version-select took effect: later replies are in it */
        if (r.left) {
            size_t n;
            fz_str(&r, &n);
            fz_str(&r, &n);
        }
        if (q->short_packet)
            fuzz_check(code == 5, "a packet without an id got status %u, not BAD_MESSAGE", code);
        if (q->has_handle && !known &&
            (q->type == FZ_CLOSE || q->type == FZ_WRITE || q->type == FZ_FSETSTAT || q->type == FZ_BLOCK ||
             q->type == FZ_UNBLOCK))
            fuzz_check(code != 0, "request type %u on a handle that is not open succeeded", q->type);
        if (q->type == FZ_CLOSE && code == 0 && known) { /* retire it */
            long i = fz_find_open(s, q->handle, q->handle_len);
            free(s->open[i].s);
            s->open[i] = s->open[--s->nopen];
        }
        break;
    }
    case FZ_HANDLE: {
        fuzz_check(q->type == FZ_OPEN || q->type == FZ_OPENDIR, "HANDLE answers request type %u", q->type);
        size_t n;
        const uint8_t *h = fz_str(&r, &n);
        fuzz_check(!r.bad && n >= 1 && n <= FZ_MAX_HANDLE, "handle of %zu bytes", n);
        fuzz_check(fz_find_open(s, h, n) < 0, "new handle \"%.*s\" is already open", (int)n, h);
        if (s->nopen == s->capopen) {
            s->capopen = s->capopen ? 2 * s->capopen : 16;
            s->open = realloc(s->open, s->capopen * sizeof *s->open);
            if (!s->open)
                abort();
        }
        s->open[s->nopen].s = malloc(n);
        if (!s->open[s->nopen].s)
            abort();
        memcpy(s->open[s->nopen].s, h, n);
        s->open[s->nopen++].len = n;
        break;
    }
    case FZ_DATA: {
        fuzz_check(q->type == FZ_READ || q->type == FZ_EXTENDED, "DATA answers request type %u", q->type);
        size_t n;
        fz_str(&r, &n);
        fuzz_check(!r.bad, "DATA malformed");
        if (q->type == FZ_READ) {
            fuzz_check(n <= q->read_len, "READ of %u bytes returned %zu", q->read_len, n);
            fuzz_check(known, "READ on a handle that is not open returned data");
        }
        break;
    }
    case FZ_NAME:
        fuzz_check(q->type == FZ_REALPATH || q->type == FZ_READDIR || q->type == FZ_READLINK || q->type == FZ_EXTENDED,
                   "NAME answers request type %u", q->type);
        if (q->type == FZ_READDIR)
            fuzz_check(known, "READDIR on a handle that is not open listed names");
        fz_check_name(s, q, &r);
        break;
    case FZ_ATTRS:
        fuzz_check(q->type == FZ_STAT || q->type == FZ_LSTAT || q->type == FZ_FSTAT || q->type == FZ_EXTENDED,
                   "ATTRS answers request type %u", q->type);
        if (q->type == FZ_FSTAT)
            fuzz_check(known, "FSTAT on a handle that is not open returned attributes");
        fz_attrs(&r, s->version);
        break;
    case FZ_EXTENDED_REPLY:
        fuzz_check(q->type == FZ_EXTENDED, "EXTENDED_REPLY answers request type %u", q->type);
        fz_check_extended_reply(q, &r);
        break;
    default:
        fuzz_check(0, "reply of unknown type %u", type);
    }
    fuzz_check(!r.bad, "reply type %u truncated", type);
    fuzz_check(r.left == 0, "reply type %u has %zu trailing bytes", type, r.left);
}

#endif
