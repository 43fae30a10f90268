/* Status codes: errno -> SFTP, version mapping, message texts, and the document's
 * OperationStatus values (ost*) <-> SFTP. Internal. */
#ifndef SFK_SFTP_STATUS_H
#define SFK_SFTP_STATUS_H

#include <stdint.h>

/* The richest SFTP status for an errno value (positive errno). */
int sfk_status_from_errno(int err);

/* The code a client of `version` understands: codes newer than the version are mapped down
 * (v3: WRITE_PROTECT -> PERMISSION_DENIED, NO_SUCH_PATH -> NO_SUCH_FILE, others -> FAILURE...). */
int sfk_status_for_version(int status, int version);

/* "Success", "No such file", ... (for the STATUS message field). */
const char *sfk_status_message(int status);

/* OperationStatus (ostOk=1 .. ostEOF=7) -> SFTP status; anything else is SSH_FX_FAILURE. */
int sfk_status_from_ost(int64_t ost);
/* SFTP status -> OperationStatus; 0 when none of the seven values describes it (a generic
 * failure). */
int64_t sfk_ost_from_status(int status);

#endif
