/* OPEN requests in one version-independent form. v3 sends pflags; v5+ sends desired-access and
 * a disposition with flags — each version gets a decoder into sfk_open_req, and the rest of the
 * engine (events, notifications, local open) reads only this form. Internal. */
#ifndef SFK_SFTP_OPENFLAGS_H
#define SFK_SFTP_OPENFLAGS_H

#include <stdint.h>

/* What to do about an existing / missing file (the v5+ dispositions; v3 maps onto them). */
typedef enum {
    SFK_OPEN_EXISTING,          /* fail if missing */
    SFK_OPEN_OR_CREATE,         /* create if missing */
    SFK_OPEN_CREATE_NEW,        /* fail if present */
    SFK_OPEN_CREATE_TRUNCATE,   /* create or truncate */
    SFK_OPEN_TRUNCATE_EXISTING, /* truncate; fail if missing */
} sfk_open_disposition;

typedef struct {
    int read, write, append;
    int nofollow; /* v5+ NOFOLLOW: a symlink as the last component fails */
    sfk_open_disposition disposition;
    int64_t modes;           /* the document's cfm* flags (on_open_file Modes) */
    int64_t access;          /* cfa* flags (on_open_file Access; v6 locks, 0 before) */
    uint32_t desired_access; /* ACE4 mask (FileOpen notification's DesiredAccess) */
} sfk_open_req;

void sfk_open_from_v3(uint32_t pflags, sfk_open_req *o);

/* open(2) flags for the local file system. */
int sfk_open_oflags(const sfk_open_req *o);

/* Is this an upload (on_before_upload_file) rather than a download? */
int sfk_open_is_write(const sfk_open_req *o);

#endif
