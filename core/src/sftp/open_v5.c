/* OPEN's flags per version (v3/v4 pflags, v5+ desired-access and flags) and v5+ RENAME flags.
 *
 * v5+ OPEN: desired-access is an ACE4 mask, the flags carry a disposition in the low three bits
 * and modifiers above it. Modifiers this server cannot honour (delete-on-close, backup semantics,
 * owner override) are refused with OP_UNSUPPORTED, as the draft asks, rather than ignored. The
 * BLOCK_* lock flags are reported in on_open_file's Access (cfa* = the flags >> 6) and, on the
 * local file system, taken as a lock over the whole file or refused (sfk_open_lock). Text mode is
 * accepted and changes nothing: the server's newline is "\n" (the "newline" extension), so the
 * conversion is the client's. */
#include <string.h>

#include "sftp/openflags.h"
#include "sftp/version.h"
#include "sftpkit/sftpkit_consts.h"

_Static_assert(SFTPKIT_RENAME_FLAGS_CRFOVERWRITE == SSH_FXF_RENAME_OVERWRITE &&
                   SFTPKIT_RENAME_FLAGS_CRFATOMIC == SSH_FXF_RENAME_ATOMIC &&
                   SFTPKIT_RENAME_FLAGS_CRFNATIVE == SSH_FXF_RENAME_NATIVE,
               "on_rename_file's rename_flags are the v5+ RENAME flags");
_Static_assert(SFTPKIT_FILE_ACCESS_CFAREADLOCK == SSH_FXF_BLOCK_READ >> 6 &&
                   SFTPKIT_FILE_ACCESS_CFAWRITELOCK == SSH_FXF_BLOCK_WRITE >> 6 &&
                   SFTPKIT_FILE_ACCESS_CFADELETELOCK == SSH_FXF_BLOCK_DELETE >> 6 &&
                   SFTPKIT_FILE_ACCESS_CFABLOCKADVISORY == SSH_FXF_BLOCK_ADVISORY >> 6,
               "on_open_file Access is the BLOCK flags shifted down");

static int open_from_v5(uint32_t access, uint32_t flags, int version, sfk_open_req *o)
{
    memset(o, 0, sizeof *o);
    /* v5 has READ/WRITE/DELETE_LOCK in the same bits; BLOCK_ADVISORY is new in v6 */
    uint32_t locks = SSH_FXF_BLOCK_READ | SSH_FXF_BLOCK_WRITE | SSH_FXF_BLOCK_DELETE |
                     (version >= 6 ? (uint32_t)SSH_FXF_BLOCK_ADVISORY : 0u);
    if (flags & ~(uint32_t)(SFK_OPEN_FLAGS_SUPPORTED | locks))
        return SSH_FX_OP_UNSUPPORTED;
    /* cfaReadLock 1, cfaWriteLock 2, cfaDeleteLock 4, cfaBlockAdvisory 8: the BLOCK bits in order */
    o->access = (flags & locks) >> 6;
    static const sfk_open_disposition disp[] = {
        [SSH_FXF_CREATE_NEW] = SFK_OPEN_CREATE_NEW,
        [SSH_FXF_CREATE_TRUNCATE] = SFK_OPEN_CREATE_TRUNCATE,
        [SSH_FXF_OPEN_EXISTING] = SFK_OPEN_EXISTING,
        [SSH_FXF_OPEN_OR_CREATE] = SFK_OPEN_OR_CREATE,
        [SSH_FXF_TRUNCATE_EXISTING] = SFK_OPEN_TRUNCATE_EXISTING,
    };
    uint32_t d = flags & SSH_FXF_ACCESS_DISPOSITION;
    if (d > SSH_FXF_TRUNCATE_EXISTING)
        return SSH_FX_INVALID_PARAMETER;
    o->disposition = disp[d];
    if (access == 0) /* no access asked for (phpseclib 3.0): what the disposition implies */
        access = ACE4_READ_DATA | (o->disposition == SFK_OPEN_EXISTING ? 0 : ACE4_WRITE_DATA);
    o->read = (access & ACE4_READ_DATA) != 0;
    o->write = (access & ACE4_WRITE_DATA) != 0;
    /* APPEND_DATA in the flags, or append access without write access: writes go to the end */
    o->append =
        (flags & (SSH_FXF_APPEND_DATA | SSH_FXF_APPEND_DATA_ATOMIC)) != 0 || ((access & ACE4_APPEND_DATA) && !o->write);
    if (!(access & (ACE4_WRITE_DATA | ACE4_APPEND_DATA)))
        o->append = 0; /* append mode without any write access: nothing may be written */
    o->nofollow = (flags & SSH_FXF_NOFOLLOW) != 0;
    o->desired_access = access;
    if (o->read)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMREAD;
    if (o->write)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMWRITE;
    if (o->append)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMAPPEND;
    if (flags & SSH_FXF_APPEND_DATA_ATOMIC)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMAPPENDATOMIC;
    if (flags & SSH_FXF_TEXT_MODE)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMTEXT;
    if (o->nofollow)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMNOFOLLOW;
    switch (o->disposition) {
    case SFK_OPEN_CREATE_NEW:
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMCREATE | SFTPKIT_FILE_OPEN_MODE_CFMEXCL;
        break;
    case SFK_OPEN_CREATE_TRUNCATE:
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMCREATE | SFTPKIT_FILE_OPEN_MODE_CFMTRUNCATE;
        break;
    case SFK_OPEN_OR_CREATE:
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMOPENORCREATE;
        break;
    case SFK_OPEN_TRUNCATE_EXISTING:
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMTRUNCATE;
        break;
    case SFK_OPEN_EXISTING:
        break;
    }
    return SSH_FX_OK;
}

int sfk_open_decode(sfk_engine *e, sfk_rd *rd, sfk_open_req *o)
{
    if (e->version >= 5) {
        uint32_t access = sfk_rd_u32(rd);
        uint32_t flags = sfk_rd_u32(rd);
        return open_from_v5(access, flags, e->version, o);
    }
    uint32_t pflags = sfk_rd_u32(rd);
    sfk_open_from_v3(pflags, o);
    if (e->version >= 4 && (pflags & SSH_FXF_TEXT)) /* no conversion: the newline is "\n" */
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMTEXT;
    return SSH_FX_OK;
}

/* v5+: OVERWRITE replaces the target, atomically (rename(2) is, so ATOMIC needs nothing more);
 * without it an existing target fails with FILE_ALREADY_EXISTS, ATOMIC or not. NATIVE asks for the server's own
 * semantics, which are the same here. */
void sfk_rename_v5(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st)
        st = sfk_take_path(e, &r->rd, 1);
    uint32_t flags = sfk_rd_u32(&r->rd);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (!st && (flags & ~(uint32_t)(SSH_FXF_RENAME_OVERWRITE | SSH_FXF_RENAME_ATOMIC | SSH_FXF_RENAME_NATIVE)))
        st = SSH_FX_INVALID_PARAMETER;
    if (st)
        return sfk_reply_status(e, r->id, st);
    sfk_do_rename(e, r->id, flags);
}
