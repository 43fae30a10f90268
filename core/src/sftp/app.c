/* The application's side of a request: on_before_* (who does it), the custom events of path
 * operations, on_after_* (the status it may change) and file-operation notifications. With no
 * server or no handler installed every function is a no-op that says "the server does it". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fs/local.h"
#include "sftp/engine_int.h"
#include "sftp/host.h"
#include "sftp/status.h"
#include "sftpkit/sftpkit_consts.h"

/* Where a client path ("/a/b") leads inside the root, links followed: "" without a local file
 * system or when it cannot be resolved (the request then fails on its own). */
static void resolved_of(sfk_engine *e, const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    if (!e->fs || !path || !*path)
        return;
    if (!strcmp(path, "/")) {
        snprintf(out, cap, "/");
        return;
    }
    if (sfk_fs_resolved_path(e->fs, path[0] == '/' ? path + 1 : path, out, cap) < 0)
        out[0] = '\0';
}

int sfk_app_before(sfk_engine *e, sfk_op op, const char *path, const char *path2)
{
    if (!e->events)
        return SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO;
    int64_t action = SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO;
    const sfk_host *s = &e->host;
    int64_t c = e->conn_id;
    char r1[SFK_PATH_MAX + 2], r2[SFK_PATH_MAX + 2] = "";
    resolved_of(e, path, r1, sizeof r1);
    if (op == SFK_OP_RENAME)
        resolved_of(e, path2, r2, sizeof r2);
    switch (op) {
    case SFK_OP_CREATE_DIRECTORY:
        sfk_host_on_before_create_directory(s, c, path, &action, r1);
        break;
    case SFK_OP_DOWNLOAD:
        sfk_host_on_before_download_file(s, c, path, &action, r1);
        break;
    case SFK_OP_UPLOAD:
        sfk_host_on_before_upload_file(s, c, path, &action, r1);
        break;
    case SFK_OP_FIND:
        sfk_host_on_before_find(s, c, path, &action, r1);
        break;
    case SFK_OP_REMOVE:
        sfk_host_on_before_remove(s, c, path, &action, r1);
        break;
    case SFK_OP_RENAME:
        sfk_host_on_before_rename_file(s, c, path, path2, &action, r1, r2);
        break;
    case SFK_OP_REQUEST_ATTRIBUTES:
        sfk_host_on_before_request_attributes(s, c, path, &action, r1);
        break;
    case SFK_OP_SET_ATTRIBUTES:
        sfk_host_on_before_set_attributes(s, c, path, &action, r1);
        break;
    }
    if (action != SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM && action != SFTPKIT_FILE_REQUEST_ACTION_FRAABORT)
        action = SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO; /* anything else: the server's own way */
    return (int)action;
}

/* Link creation (SYMLINK, hardlink@openssh.com): the application sees both paths and may refuse,
 * so a path policy cannot be bypassed by making a link to a protected file and opening the link.
 * Runs the whole before -> create -> after flow; create is called for fraAuto only. Returns the
 * SFTP status for the client. */
int sfk_app_link(sfk_engine *e, const char *link_path, const char *target, int hard, int (*create)(sfk_engine *e))
{
    int64_t action = SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO;
    if (e->events)
        sfk_host_on_before_create_link(&e->host, e->conn_id, link_path, target, hard, &action);
    int st;
    if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT)
        st = SSH_FX_PERMISSION_DENIED;
    else if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM)
        st = SSH_FX_OK; /* the application made the link its own way */
    else
        st = create(e);
    if (!e->events)
        return st;
    int64_t ost = sfk_ost_from_status(st), before = ost;
    sfk_host_on_after_create_link(&e->host, e->conn_id, link_path, target, hard, &ost);
    return ost != before ? sfk_status_from_ost(ost) : st;
}

void sfk_app_after(sfk_engine *e, sfk_op op, const char *path, const char *path2, int *status)
{
    if (!e->events)
        return;
    int64_t ost = sfk_ost_from_status(*status), before = ost;
    const sfk_host *s = &e->host;
    int64_t c = e->conn_id;
    switch (op) {
    case SFK_OP_CREATE_DIRECTORY:
        sfk_host_on_after_create_directory(s, c, path, &ost);
        break;
    case SFK_OP_REMOVE:
        sfk_host_on_after_remove(s, c, path, &ost);
        break;
    case SFK_OP_RENAME:
        sfk_host_on_after_rename_file(s, c, path, path2, &ost);
        break;
    case SFK_OP_REQUEST_ATTRIBUTES:
        sfk_host_on_after_request_attributes(s, c, path, &ost);
        break;
    case SFK_OP_SET_ATTRIBUTES:
        sfk_host_on_after_set_attributes(s, c, path, &ost);
        break;
    default:
        return;
    }
    /* unchanged: keep the precise status (OperationStatus has no value for every SFTP code) */
    if (ost != before)
        *status = sfk_status_from_ost(ost);
}

int sfk_app_custom(sfk_engine *e, sfk_op op, const char *path, const char *path2)
{
    int64_t ost = SFTPKIT_OPERATION_STATUS_OSTOK;
    const sfk_host *s = &e->host;
    int64_t c = e->conn_id;
    int ran = 0;
    switch (op) {
    case SFK_OP_CREATE_DIRECTORY:
        ran = sfk_host_on_create_directory(s, c, path, &ost);
        break;
    case SFK_OP_REMOVE:
        ran = sfk_host_on_remove(s, c, path, &ost);
        break;
    case SFK_OP_RENAME:
        ran = sfk_host_on_rename_file(s, c, path, path2, &ost, e->rename_flags);
        break;
    default:
        break;
    }
    return ran ? sfk_status_from_ost(ost) : SSH_FX_OP_UNSUPPORTED;
}

void sfk_ctx_enter(sfk_engine *e, const sfk_ctx *ctx)
{
    pthread_mutex_lock(&e->ctx_lock);
    e->ctx = *ctx;
    pthread_mutex_unlock(&e->ctx_lock);
}

void sfk_ctx_leave(sfk_engine *e)
{
    pthread_mutex_lock(&e->ctx_lock);
    memset(&e->ctx, 0, sizeof e->ctx);
    pthread_mutex_unlock(&e->ctx_lock);
}

int sfk_app_notify_enabled(sfk_engine *e)
{
    /* a live setting (docs/file-system.md: read when a file is opened): asked of the host */
    return e->events && e->host.ops->notify_on_file_operations && e->host.ops->notify_on_file_operations(e->host.ctx);
}

void sfk_app_notify(sfk_engine *e, const char *event_id, const char *fmt, ...)
{
    char param[SFK_PATH_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(param, sizeof param, fmt, ap);
    va_end(ap);
    sfk_host_on_notification(&e->host, event_id, param);
}
