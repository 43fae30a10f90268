/* libFuzzer target: the attribute decoder, encoder and long-name formatter.
 * Input: [version][attributes on the wire ...], then (after the attributes) name/user/group
 * strings and a capacity for the long name. Version: the first byte & 7 (0..6; 7 is 6 too).
 * Checked: decoding reads exactly what an independent reading of the version's layout reads
 * (v0..v3: draft -02; v4: -04; v5: -05; v6: -13, with the fields each adds and the values the
 * decoder must refuse); what decodes re-encodes to a form that decodes to the same attributes and
 * encodes the same again (a fixed point); a SETSTAT derived from it asks only for permission bits;
 * the long name always fits its buffer and is NUL-terminated. */
#include "fuzz_common.h"
#include "sftp_check.h"

#include "sftp/attrs.h"
#include "sftp/wire.h"

/* The v0..v3 layout read by the checker's own reader; returns the bytes a well-formed block takes,
 * or -1 when it runs past the end. (Undefined flag bits are ignored, as the draft says.) */
static long reference_length(const uint8_t *p, size_t len)
{
    fz_rd r = {p, len, 0};
    uint32_t flags = fz_u32(&r);
    if (flags & 1)
        fz_u64(&r);
    if (flags & 2)
        fz_u32(&r), fz_u32(&r);
    if (flags & 4)
        fz_u32(&r);
    if (flags & 8)
        fz_u32(&r), fz_u32(&r);
    if (flags & 0x80000000u) {
        uint32_t n = fz_u32(&r);
        size_t l;
        for (uint32_t i = 0; i < n && !r.bad; i++)
            fz_str(&r, &l), fz_str(&r, &l);
    }
    return r.bad ? -1 : (long)(len - r.left);
}

/* A name the decoder can keep: under 64 bytes (its field), no NUL. */
static void reference_name(fz_rd *r)
{
    size_t len;
    const uint8_t *s = fz_str(r, &len);
    if (!r->bad && (len >= 64 || memchr(s, 0, len)))
        r->bad = 1;
}

static void reference_time(fz_rd *r, uint32_t flags)
{
    fz_u64(r);
    if ((flags & 0x100) && fz_u32(r) > 999999999u) /* subsecond times: not a nanosecond count */
        r->bad = 1;
}

/* The v4 (-04), v5 (-05) and v6 (-13) layouts, each field under its flag, in the drafts' order;
 * -1 when it runs past the end or holds what the decoder must refuse. Flag bits a version does
 * not define are ignored, as the drafts say. (One documented leniency: flags 0 and nothing
 * after them is accepted without the type byte, phpseclib 3.0's OPEN.) */
static long reference_length_v4(const uint8_t *p, size_t len, int version)
{
    fz_rd r = {p, len, 0};
    uint32_t flags = fz_u32(&r);
    if (!r.bad && flags == 0 && r.left == 0)
        return 4;
    if (r.left)
        r.p++, r.left--; /* type */
    else
        r.bad = 1;
    size_t l;
    if (flags & 0x1) /* size */
        fz_u64(&r);
    if (version >= 6 && (flags & 0x400)) /* allocation-size */
        fz_u64(&r);
    if (flags & 0x80) /* owner, group */
        reference_name(&r), reference_name(&r);
    if (flags & 0x4) /* permissions */
        fz_u32(&r);
    if (flags & 0x8) /* access time */
        reference_time(&r, flags);
    if (flags & 0x10) /* create time */
        reference_time(&r, flags);
    if (flags & 0x20) /* modify time */
        reference_time(&r, flags);
    if (version >= 6 && (flags & 0x8000)) /* ctime */
        reference_time(&r, flags);
    if (flags & 0x40) /* acl */
        fz_str(&r, &l);
    if (version >= 5 && (flags & 0x200)) { /* attrib-bits (v6: and attrib-bits-valid) */
        fz_u32(&r);
        if (version >= 6)
            fz_u32(&r);
    }
    if (version >= 6) {
        if (flags & 0x800) { /* text-hint */
            if (r.left)
                r.p++, r.left--;
            else
                r.bad = 1;
        }
        if (flags & 0x1000) /* mime-type */
            fz_str(&r, &l);
        if (flags & 0x2000) /* link-count */
            fz_u32(&r);
        if (flags & 0x4000) /* untranslated-name */
            fz_str(&r, &l);
    }
    if (flags & 0x80000000u) {
        uint32_t n = fz_u32(&r);
        for (uint32_t i = 0; i < n && !r.bad; i++)
            fz_str(&r, &l), fz_str(&r, &l);
    }
    return r.bad ? -1 : (long)(len - r.left);
}

static int same_attrs(const sfk_attrs *a, const sfk_attrs *b)
{
    int same = a->flags == b->flags && a->size == b->size && a->uid == b->uid && a->gid == b->gid &&
               a->perm == b->perm && a->atime == b->atime && a->mtime == b->mtime;
    /* the v4+ fields (all zero from the v3 decoder) */
    same = same && a->atime_ns == b->atime_ns && a->mtime_ns == b->mtime_ns && a->ctime == b->ctime &&
           a->ctime_ns == b->ctime_ns && a->crtime == b->crtime && a->crtime_ns == b->crtime_ns &&
           a->alloc_size == b->alloc_size && a->bits == b->bits && a->bits_valid == b->bits_valid &&
           !strcmp(a->owner, b->owner) && !strcmp(a->group, b->group);
    if (same && (a->flags & SFK_A_UNTRANSLATED))
        same = a->untranslated_len == b->untranslated_len &&
               !memcmp(a->untranslated, b->untranslated, a->untranslated_len);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int version = data[0] & 7;
    if (version == 7)
        version = 6;
    sfk_rd rd = sfk_rd_init(data + 1, size - 1);
    sfk_attrs a;
    sfk_attrs_decode(&rd, version, &a);
    long want = version >= 4 ? reference_length_v4(data + 1, size - 1, version) : reference_length(data + 1, size - 1);
    fuzz_check(rd.bad == (want < 0), "decoder says %s, the layout says %s", rd.bad ? "bad" : "good",
               want < 0 ? "bad" : "good");
    if (rd.bad)
        return 0;
    size_t used = size - 1 - rd.left;
    fuzz_check((long)used == want, "decoder read %zu bytes, the layout has %ld", used, want);

    sfk_buf b1 = {0}, b2 = {0};
    sfk_attrs_encode(&b1, version, &a);
    sfk_rd r1 = sfk_rd_init(b1.data, b1.len);
    sfk_attrs back;
    sfk_attrs_decode(&r1, version, &back);
    fuzz_check(!r1.bad && r1.left == 0, "an encoding does not decode exactly");
    fuzz_check(same_attrs(&a, &back), "decode(encode(a)) differs from a");
    sfk_attrs_encode(&b2, version, &back);
    fuzz_check(b1.len == b2.len && !memcmp(b1.data, b2.data, b1.len), "encode is not a fixed point");
    sfk_buf_free(&b1);
    sfk_buf_free(&b2);

    sfk_fs_setattr set;
    sfk_attrs_to_setattr(&a, &set);
    fuzz_check(!(set.mode & ~07777u), "SETSTAT would pass file-type bits 0%o to chmod", set.mode);

    /* the rest: a long name for these attributes */
    fuzz_in in = {data + 1 + used, size - 1 - used};
    int cap = 1 + fuzz_u8(&in) * 4;
    char *name = fuzz_cstr(&in, 600), *user = fuzz_cstr(&in, 64), *group = fuzz_rest_cstr(&in);
    a.flags |= SFK_A_NLINK;
    a.nlink = (uint32_t)used;
    char *buf = malloc((size_t)cap);
    int n = sfk_longname(buf, cap, name, &a, user, group);
    fuzz_check(n >= 0 && n < cap && buf[n] == '\0' && strlen(buf) == (size_t)n, "long name length %d, cap %d", n, cap);
    free(buf);
    free(name);
    free(user);
    free(group);
    return 0;
}
