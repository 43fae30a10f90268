/* Versions 4..6: what the VERSION reply adds for them and the version-select extension
 * (draft-ietf-secsh-filexfer-13 section 5.5).
 *
 * INIT picks min(client, max_sftp_version) (session.c). A client that sent 3 to stay compatible
 * learns the other versions from "versions" and may switch with "version-select" as its first
 * request; an unknown or out-of-range choice gets a STATUS and the channel closes, as the draft
 * requires (nothing the client sent after it could be read in the right version). */
#include <stdio.h>
#include <string.h>

#include "api/errors.h"
#include "sftp/engine_int.h"
#include "sftp/version.h"
#include "sftpkit/sftpkit_consts.h"
#include "util/log.h"

/* The versions a client may select: 3..6 within min_sftp_version..max_sftp_version (v0..v2 have
 * no extensions, so selecting them makes no sense). */
static int lowest(const sfk_engine *e)
{
    return e->min_version > 3 ? e->min_version : 3;
}

static int highest(const sfk_engine *e)
{
    return e->max_version < SFK_SFTP_VERSION_MAX ? e->max_version : SFK_SFTP_VERSION_MAX;
}

static void version_list(const sfk_engine *e, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int v = lowest(e); v <= highest(e) && n + 3 < cap; v++)
        n += (size_t)snprintf(out + n, cap - n, n ? ",%d" : "%d", v);
}

/* The attribute flags this server fills in (v5 "supported", v6 "supported2"). */
static uint32_t attribute_mask(int version)
{
    uint32_t m = SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACCESSTIME |
                 SSH_FILEXFER_ATTR_MODIFYTIME | SSH_FILEXFER_ATTR_OWNERGROUP | SSH_FILEXFER_ATTR_SUBSECOND_TIMES;
    if (version >= 6)
        m |= SSH_FILEXFER_ATTR_ALLOCATION_SIZE | SSH_FILEXFER_ATTR_CTIME | SSH_FILEXFER_ATTR_LINK_COUNT |
             SSH_FILEXFER_ATTR_UNTRANSLATED_NAME; /* the last only for a name shown converted (dirs.c) */
    return m;
}

/* Every extension request name: the OpenSSH table (extensions.c) and ours (ext_v6.c). */
static void put_extension_names(sfk_engine *e, sfk_buf *b, int counted)
{
    size_t n = sfk_extension_count() + sfk_ext_v6_count();
    if (counted)
        sfk_wr_u32(b, (uint32_t)n);
    for (size_t i = 0; i < sfk_extension_count(); i++)
        sfk_wr_cstr(b, sfk_extension_name(i));
    for (size_t i = 0; i < sfk_ext_v6_count(); i++)
        sfk_wr_cstr(b, sfk_ext_v6_name(i));
    (void)e;
}

/* An extension pair whose data is built in place: name, then a string we fill and close. */
static size_t data_begin(sfk_buf *b, const char *name)
{
    sfk_wr_cstr(b, name);
    size_t at = b->len;
    sfk_wr_u32(b, 0);
    return at;
}

static void data_end(sfk_buf *b, size_t at)
{
    if (!b->oom)
        sfk_put_u32(b->data + at, (uint32_t)(b->len - at - 4));
}

static void put_supported(sfk_engine *e, sfk_buf *b, int v6)
{
    size_t at = data_begin(b, v6 ? "supported2" : "supported");
    sfk_wr_u32(b, attribute_mask(v6 ? 6 : 5));
    sfk_wr_u32(b, 0); /* attrib-bits: none is kept */
    /* v6 also keeps the BLOCK_* flags at OPEN, in their advisory form (ext_v6.c); v5 has no
     * advisory form, so its lock flags are refused */
    sfk_wr_u32(b, SFK_OPEN_FLAGS_SUPPORTED | (v6 ? (uint32_t)(SSH_FXF_BLOCK_READ | SSH_FXF_BLOCK_WRITE |
                                                              SSH_FXF_BLOCK_DELETE | SSH_FXF_BLOCK_ADVISORY)
                                                 : 0u));
    sfk_wr_u32(b, SFK_ACCESS_MASK_SUPPORTED);
    sfk_wr_u32(b, SFK_SFTP_MAX_RW_LENGTH);
    if (v6) {
        uint8_t vec[4];
        /* open-block-vector (bit n: the BLOCK flags n << 6): no blocking, and every combination
         * with BLOCK_ADVISORY (bits 8..15); block-vector: every BLOCK mask */
        vec[0] = 0xff, vec[1] = 0x01, vec[2] = 0xff, vec[3] = 0xff;
        sfk_wr_bytes(b, vec, 4);
        sfk_wr_u32(b, 0); /* attrib-extension names */
    }
    put_extension_names(e, b, v6);
    data_end(b, at);
}

static void put_vendor_id(sfk_buf *b)
{
    size_t at = data_begin(b, "vendor-id");
    sfk_wr_cstr(b, "sftpkit");
    sfk_wr_cstr(b, "sftpkit");
    sfk_wr_cstr(b, SFTPKIT_VERSION_STRING);
    sfk_wr_u64(b, 0);
    data_end(b, at);
}

void sfk_version_extensions(sfk_engine *e)
{
    sfk_buf *b = &e->out;
    int v = e->version;
    int beyond3 = highest(e) > 3 && lowest(e) <= highest(e);
    if (v < 3 || (v == 3 && !beyond3))
        return; /* a plain v3 server: the VERSION reply stays exactly what it was */
    if (highest(e) > lowest(e)) {
        char list[32];
        version_list(e, list, sizeof list);
        sfk_wr_cstr(b, "versions");
        sfk_wr_cstr(b, list);
    }
    /* A v3 session gets only the text of "versions": binary extension data in a v3 VERSION can
     * trip clients that read every value as text (gesftpserver sends the rest from v4 on, too). */
    if (v < 4)
        return;
    sfk_wr_cstr(b, "newline");
    sfk_wr_cstr(b, "\n");
    /* draft -13 section 6: names are UTF-8 on the wire; a client may turn the translation off
     * with filename-translation-control (ext_v6.c) to see and send the names' bytes as on disk */
    sfk_wr_cstr(b, "filename-charset");
    sfk_wr_cstr(b, "UTF-8");
    if (v == 5)
        put_supported(e, b, 0);
    if (v >= 6)
        put_supported(e, b, 1);
    put_vendor_id(b);
}

void sfk_version_select(sfk_engine *e, sfk_req *r)
{
    size_t len;
    const char *s = (const char *)sfk_rd_str(&r->rd, &len);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    int v = len == 1 && s[0] >= '0' && s[0] <= '9' ? s[0] - '0' : -1;
    if (e->requests != 1 || v < lowest(e) || v > highest(e)) {
        /* not the first request, or not a version we offered: the draft closes the channel */
        sfk_reply_status(e, r->id, SSH_FX_INVALID_PARAMETER);
        e->fatal = 1;
        sfk_error(SFTPKIT_ERROR_INVALID_STATE, "sftp: version-select \"%.*s\" refused (%s)", (int)(len < 16 ? len : 16),
                  s, e->requests != 1 ? "not the first request" : "not offered");
        sfk_log(e->server, SFK_LOG_WARNING, "sftp", "connection %lld: %s", (long long)e->conn_id,
                sftpkit_last_error_message());
        return;
    }
    e->version = v;
    if (v >= 4) /* filenames are UTF-8 from v4 on */
        e->utf8 = 1;
    sfk_log(e->server, SFK_LOG_INFO, "sftp", "connection %lld: SFTP version %d (version-select)", (long long)e->conn_id,
            v);
    sfk_reply_status(e, r->id, SSH_FX_OK);
}
