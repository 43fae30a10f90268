/* The audit log: one JSON record per login attempt and per file operation, appended to
 * AuditLogFile (rotated by size) and/or fired as on_notification("Audit", record). Fields are
 * documented in docs/audit.md. Settings are read at start(). Internal. */
#ifndef SFK_AUDIT_H
#define SFK_AUDIT_H

#include <stdint.h>

#include "sftpkit/sftpkit.h"

typedef struct {
    const char *operation; /* "login", "upload", "download", "open", "list", "remove", ... */
    int64_t connection_id;
    const char *user;
    const char *address;
    int port;
    const char *method;                /* login: "password", "publickey", "keyboard-interactive"; else NULL */
    const char *path;                  /* client-visible absolute path, NULL when none */
    const char *path2;                 /* rename/symlink/hardlink target, NULL when none */
    int64_t bytes_read, bytes_written; /* < 0: not part of this operation */
    const char *status;                /* "ok", "partial", "failure", or an SFTP status name ("no_such_file") */
    int aborted;                       /* a file still open when the session ended */
} sfk_audit_record;

/* Is any audit output on? Cheap (one relaxed load); callers skip building records when not. */
int sfk_audit_enabled(sftpkit_server *s);
void sfk_audit(sftpkit_server *s, const sfk_audit_record *r);

/* start(): (re)reads AuditLog* and opens the file; 0 or an error code (file cannot be opened). */
int sfk_audit_start(sftpkit_server *s);
void sfk_audit_destroy(sftpkit_server *s);

/* The lower-case name of an SFTP v3 status code as the audit and metrics print it. */
const char *sfk_audit_status_name(int code);

#endif
