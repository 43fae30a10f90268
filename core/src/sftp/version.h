/* The hooks of SFTP v4..v6 into the v3 engine: each lives in its own file (version.c,
 * attrs_v4.c, open_v5.c, ext_v6.c) and the request families call them only for those versions.
 * Internal. */
#ifndef SFK_SFTP_VERSION_H
#define SFK_SFTP_VERSION_H

#include "sftp/engine_int.h"

/* What OPEN accepts in v5+ (the "supported"/"supported2" masks, and the refusal of the rest). */
#define SFK_OPEN_FLAGS_SUPPORTED                                                                                       \
    (SSH_FXF_ACCESS_DISPOSITION | SSH_FXF_APPEND_DATA | SSH_FXF_APPEND_DATA_ATOMIC | SSH_FXF_TEXT_MODE |               \
     SSH_FXF_NOFOLLOW)
#define SFK_ACCESS_MASK_SUPPORTED                                                                                      \
    (ACE4_READ_DATA | ACE4_WRITE_DATA | ACE4_APPEND_DATA | ACE4_READ_ATTRIBUTES | ACE4_WRITE_ATTRIBUTES |              \
     ACE4_SYNCHRONIZE)

/* version.c: the VERSION reply's v4..v6 extension pairs; the version-select request. */
void sfk_version_extensions(sfk_engine *e);
void sfk_version_select(sfk_engine *e, sfk_req *r);

/* extensions.c: the OpenSSH extension table's names (for supported/supported2). */
size_t sfk_extension_count(void);
const char *sfk_extension_name(size_t i);

/* open_v5.c: OPEN's flags in every version's form -> sfk_open_req; 0 or an SFTP status. */
int sfk_open_decode(sfk_engine *e, sfk_rd *rd, sfk_open_req *o);
/* open_v5.c: v5+ RENAME (old, new, flags). */
void sfk_rename_v5(sfk_engine *e, sfk_req *r);

/* ext_v6.c: the v6 requests and extensions. */
void sfk_req_link(sfk_engine *e, sfk_req *r);
void sfk_req_block(sfk_engine *e, sfk_req *r);
void sfk_req_unblock(sfk_engine *e, sfk_req *r);
void sfk_realpath_v6(sfk_engine *e, sfk_req *r);
/* The NAME reply of a v6 REALPATH (attributes per its control byte). */
void sfk_realpath_v6_reply(sfk_engine *e, uint32_t id, const char *name);
/* Runs the v6 extension `name` (and version-select); 0 when it is not one of them. */
int sfk_ext_v6_dispatch(sfk_engine *e, sfk_req *r, const char *name, size_t len);
size_t sfk_ext_v6_count(void);
const char *sfk_ext_v6_name(size_t i);
/* v5+ OPEN's BLOCK_* flags (h->open.access, cfa*) on the local file system: before the open,
 * whether they can be kept at all (only with BLOCK_ADVISORY; else OP_UNSUPPORTED); after it, the
 * lock over the whole file (0, LOCK_CONFLICT or OP_UNSUPPORTED). */
int sfk_open_lock_allowed(const sfk_open_req *o);
int sfk_open_lock(sfk_handle *h);
/* Byte-range locks of a handle (BLOCK), freed with it. */
void sfk_locks_free(sfk_handle *h);

#endif
