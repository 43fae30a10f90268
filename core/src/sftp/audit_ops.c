/* The engine's audit records (util/audit.c writes them): one per changing path request, per open
 * that failed, and per closed file or listing (with its bytes), from two call sites — the
 * dispatch's request_done and the CLOSE of a handle — so no request handler knows about audit.
 * Metadata reads (STAT, REALPATH, READLINK...) and each READ/WRITE are not audited: the CLOSE
 * record carries the transfer's totals. */
#include <string.h>

#include "sftp/engine_int.h"
#include "sftp/status.h"
#include "util/audit.h"

static sfk_audit_record base(const sfk_engine *e, const char *operation, const char *status)
{
    return (sfk_audit_record){.operation = operation,
                              .connection_id = e->conn_id,
                              .user = e->username,
                              .address = e->address,
                              .port = e->port,
                              .bytes_read = -1,
                              .bytes_written = -1,
                              .status = status};
}

/* The operation a path request stands for, or NULL when it is not audited. */
static const char *path_operation(uint8_t type, const uint8_t *pkt, uint32_t len)
{
    switch (type) {
    case SSH_FXP_OPEN:
        return "open"; /* only reached for a failed OPEN: a successful one is audited at CLOSE */
    case SSH_FXP_OPENDIR:
        return "list";
    case SSH_FXP_REMOVE:
        return "remove";
    case SSH_FXP_MKDIR:
        return "mkdir";
    case SSH_FXP_RMDIR:
        return "rmdir";
    case SSH_FXP_RENAME:
        return "rename";
    case SSH_FXP_SETSTAT:
        return "setstat";
    case SSH_FXP_SYMLINK:
        return "symlink";
    case SSH_FXP_EXTENDED: {
        if (len < 9)
            return NULL;
        uint32_t n = sfk_get_u32(pkt + 5);
        const char *name = (const char *)pkt + 9;
        if (n > len - 9)
            return NULL;
        if (n == 24 && !memcmp(name, "posix-rename@openssh.com", 24))
            return "rename";
        if (n == 20 && !memcmp(name, "hardlink@openssh.com", 20))
            return "hardlink";
        if (n == 20 && !memcmp(name, "lsetstat@openssh.com", 20))
            return "setstat";
        return NULL;
    }
    default:
        return NULL;
    }
}

void sfk_audit_request(sfk_engine *e, const uint8_t *pkt, uint32_t len, int status, int replied_handle)
{
    if (replied_handle && (pkt[0] == SSH_FXP_OPEN || pkt[0] == SSH_FXP_OPENDIR))
        return; /* opened: the CLOSE record tells what came of it */
    const char *op = path_operation(pkt[0], pkt, len);
    if (!op || !e->abs1[0])
        return; /* not audited, or refused before a path was read (a malformed request) */
    sfk_audit_record r = base(e, op, sfk_audit_status_name(status));
    r.path = e->abs1;
    r.path2 = e->abs2[0] ? e->abs2 : NULL;
    sfk_audit(e->server, &r);
}

void sfk_audit_close(sfk_engine *e, const sfk_handle *h, int status)
{
    if (!sfk_audit_enabled(e->server))
        return;
    const char *op = h->kind == SFK_H_DIR                ? "list"
                     : (h->open.write || h->open.append) ? "upload"
                     : h->open.read                      ? "download"
                                                         : "open";
    sfk_audit_record r = base(e, op, sfk_audit_status_name(sfk_status_for_version(status, 3)));
    r.path = h->path;
    if (h->kind == SFK_H_FILE) {
        r.bytes_read = (int64_t)h->bytes_read;
        r.bytes_written = (int64_t)h->bytes_written;
    }
    r.aborted = e->ending;
    sfk_audit(e->server, &r);
}
