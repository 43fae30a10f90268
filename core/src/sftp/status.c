/* Status codes. The engine produces the richest code it can (v6 set); what goes on the wire is
 * mapped down to the negotiated version, so supporting v4..v6 later needs no change here. */
#include "sftp/status.h"

#include <errno.h>

#include "sftp/protocol.h"
#include "sftpkit/sftpkit_consts.h"

int sfk_status_from_errno(int err)
{
    switch (err) {
    case 0:
        return SSH_FX_OK;
    case ENOENT:
        return SSH_FX_NO_SUCH_FILE;
    case ENOTDIR:
        return SSH_FX_NOT_A_DIRECTORY;
    case ELOOP:
        return SSH_FX_LINK_LOOP;
    case EACCES:
    case EPERM:
        return SSH_FX_PERMISSION_DENIED;
    case EROFS:
        return SSH_FX_WRITE_PROTECT;
    case EEXIST:
        return SSH_FX_FILE_ALREADY_EXISTS;
    case ENOTEMPTY:
        return SSH_FX_DIR_NOT_EMPTY;
    case EISDIR:
        return SSH_FX_FILE_IS_A_DIRECTORY;
    case ENOSPC:
        return SSH_FX_NO_SPACE_ON_FILESYSTEM;
    case EDQUOT:
        return SSH_FX_QUOTA_EXCEEDED;
    case ENAMETOOLONG:
        return SSH_FX_INVALID_FILENAME;
    case EINVAL:
        return SSH_FX_INVALID_PARAMETER;
    case ENOSYS:
    case EOPNOTSUPP:
        return SSH_FX_OP_UNSUPPORTED;
    case EBADF:
        return SSH_FX_INVALID_HANDLE;
    default:
        return SSH_FX_FAILURE;
    }
}

/* Highest status code each version defines. */
static int max_code(int version)
{
    return version <= 3   ? SSH_FX_OP_UNSUPPORTED
           : version == 4 ? SSH_FX_NO_MEDIA
           : version == 5 ? SSH_FX_LOCK_CONFLICT
                          : SSH_FX_STATUS_COUNT - 1;
}

/* What each newer code becomes for a client that does not know it (applied until it fits). */
static int older_code(int status)
{
    switch (status) {
    case SSH_FX_NO_SUCH_PATH:
    case SSH_FX_NOT_A_DIRECTORY:
    case SSH_FX_LINK_LOOP:
    case SSH_FX_INVALID_FILENAME:
        return SSH_FX_NO_SUCH_FILE;
    case SSH_FX_WRITE_PROTECT:
    case SSH_FX_CANNOT_DELETE:
        return SSH_FX_PERMISSION_DENIED;
    case SSH_FX_BYTE_RANGE_LOCK_CONFLICT:
    case SSH_FX_BYTE_RANGE_LOCK_REFUSED:
        return SSH_FX_LOCK_CONFLICT;
    case SSH_FX_OWNER_INVALID:
    case SSH_FX_GROUP_INVALID:
        return SSH_FX_UNKNOWN_PRINCIPAL;
    case SSH_FX_NO_MATCHING_BYTE_RANGE_LOCK:
        return SSH_FX_LOCK_CONFLICT;
    default:
        return SSH_FX_FAILURE;
    }
}

int sfk_status_for_version(int status, int version)
{
    int max = max_code(version);
    while (status > max)
        status = older_code(status);
    return status;
}

const char *sfk_status_message(int status)
{
    static const char *const text[SSH_FX_STATUS_COUNT] = {
        "Success",
        "End of file",
        "No such file",
        "Permission denied",
        "Failure",
        "Bad message",
        "No connection",
        "Connection lost",
        "Operation unsupported",
        "Invalid handle",
        "No such path",
        "File already exists",
        "Write protected",
        "No media",
        "No space on file system",
        "Quota exceeded",
        "Unknown principal",
        "Lock conflict",
        "Directory not empty",
        "Not a directory",
        "Invalid file name",
        "Too many symbolic links",
        "Cannot delete",
        "Invalid parameter",
        "File is a directory",
        "Byte range lock conflict",
        "Byte range lock refused",
        "Delete pending",
        "File corrupt",
        "Owner invalid",
        "Group invalid",
        "No matching byte range lock",
    };
    return status >= 0 && status < SSH_FX_STATUS_COUNT ? text[status] : "Failure";
}

int sfk_status_from_ost(int64_t ost)
{
    switch (ost) {
    case SFTPKIT_OPERATION_STATUS_OSTOK:
        return SSH_FX_OK;
    case SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE:
        return SSH_FX_NO_SUCH_FILE;
    case SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED:
        return SSH_FX_PERMISSION_DENIED;
    case SFTPKIT_OPERATION_STATUS_OSTWRITEPROTECT:
        return SSH_FX_WRITE_PROTECT;
    case SFTPKIT_OPERATION_STATUS_OSTUNSUPPORTED:
        return SSH_FX_OP_UNSUPPORTED;
    case SFTPKIT_OPERATION_STATUS_OSTINVALIDPARAMETER:
        return SSH_FX_INVALID_PARAMETER;
    case SFTPKIT_OPERATION_STATUS_OSTEOF:
        return SSH_FX_EOF;
    default:
        return SSH_FX_FAILURE;
    }
}

int64_t sfk_ost_from_status(int status)
{
    switch (status) {
    case SSH_FX_OK:
        return SFTPKIT_OPERATION_STATUS_OSTOK;
    case SSH_FX_EOF:
        return SFTPKIT_OPERATION_STATUS_OSTEOF;
    case SSH_FX_NO_SUCH_FILE:
    case SSH_FX_NO_SUCH_PATH:
    case SSH_FX_NOT_A_DIRECTORY:
        return SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE;
    case SSH_FX_PERMISSION_DENIED:
    case SSH_FX_CANNOT_DELETE:
        return SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED;
    case SSH_FX_WRITE_PROTECT:
        return SFTPKIT_OPERATION_STATUS_OSTWRITEPROTECT;
    case SSH_FX_OP_UNSUPPORTED:
        return SFTPKIT_OPERATION_STATUS_OSTUNSUPPORTED;
    case SSH_FX_BAD_MESSAGE:
    case SSH_FX_INVALID_HANDLE:
    case SSH_FX_INVALID_FILENAME:
    case SSH_FX_INVALID_PARAMETER:
        return SFTPKIT_OPERATION_STATUS_OSTINVALIDPARAMETER;
    default:
        return 0;
    }
}
