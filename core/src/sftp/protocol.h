/* SFTP wire constants (draft-ietf-secsh-filexfer-02 for v3, -13 for v4..v6) and the OpenSSH
 * extension names. Values for v4..v6 are listed where the v3 code must already leave room for
 * them (status codes, attribute flags, open flags). Internal. */
#ifndef SFK_SFTP_PROTOCOL_H
#define SFK_SFTP_PROTOCOL_H

/* The versions this engine speaks; the properties narrow the range further. v0..v2 are served
 * with v3 packets minus the requests those versions lack. */
#define SFK_SFTP_VERSION_MIN 0
#define SFK_SFTP_VERSION_MAX 3

/* Packet types. */
enum {
    SSH_FXP_INIT = 1,
    SSH_FXP_VERSION = 2,
    SSH_FXP_OPEN = 3,
    SSH_FXP_CLOSE = 4,
    SSH_FXP_READ = 5,
    SSH_FXP_WRITE = 6,
    SSH_FXP_LSTAT = 7,
    SSH_FXP_FSTAT = 8,
    SSH_FXP_SETSTAT = 9,
    SSH_FXP_FSETSTAT = 10,
    SSH_FXP_OPENDIR = 11,
    SSH_FXP_READDIR = 12,
    SSH_FXP_REMOVE = 13,
    SSH_FXP_MKDIR = 14,
    SSH_FXP_RMDIR = 15,
    SSH_FXP_REALPATH = 16,
    SSH_FXP_STAT = 17,
    SSH_FXP_RENAME = 18,
    SSH_FXP_READLINK = 19,
    SSH_FXP_SYMLINK = 20,
    SSH_FXP_STATUS = 101,
    SSH_FXP_HANDLE = 102,
    SSH_FXP_DATA = 103,
    SSH_FXP_NAME = 104,
    SSH_FXP_ATTRS = 105,
    SSH_FXP_EXTENDED = 200,
    SSH_FXP_EXTENDED_REPLY = 201,
};

/* Status codes. The engine works with the whole v6 set internally and maps a code down to what
 * the negotiated version knows when it writes the reply (sfk_status_for_version). */
enum {
    SSH_FX_OK = 0,
    SSH_FX_EOF = 1,
    SSH_FX_NO_SUCH_FILE = 2,
    SSH_FX_PERMISSION_DENIED = 3,
    SSH_FX_FAILURE = 4,
    SSH_FX_BAD_MESSAGE = 5,
    SSH_FX_NO_CONNECTION = 6,
    SSH_FX_CONNECTION_LOST = 7,
    SSH_FX_OP_UNSUPPORTED = 8,
    /* v4 */
    SSH_FX_INVALID_HANDLE = 9,
    SSH_FX_NO_SUCH_PATH = 10,
    SSH_FX_FILE_ALREADY_EXISTS = 11,
    SSH_FX_WRITE_PROTECT = 12,
    SSH_FX_NO_MEDIA = 13,
    /* v5 */
    SSH_FX_NO_SPACE_ON_FILESYSTEM = 14,
    SSH_FX_QUOTA_EXCEEDED = 15,
    SSH_FX_UNKNOWN_PRINCIPAL = 16,
    SSH_FX_LOCK_CONFLICT = 17,
    /* v6 */
    SSH_FX_DIR_NOT_EMPTY = 18,
    SSH_FX_NOT_A_DIRECTORY = 19,
    SSH_FX_INVALID_FILENAME = 20,
    SSH_FX_LINK_LOOP = 21,
    SSH_FX_CANNOT_DELETE = 22,
    SSH_FX_INVALID_PARAMETER = 23,
    SSH_FX_FILE_IS_A_DIRECTORY = 24,
    SSH_FX_BYTE_RANGE_LOCK_CONFLICT = 25,
    SSH_FX_BYTE_RANGE_LOCK_REFUSED = 26,
    SSH_FX_DELETE_PENDING = 27,
    SSH_FX_FILE_CORRUPT = 28,
    SSH_FX_OWNER_INVALID = 29,
    SSH_FX_GROUP_INVALID = 30,
    SSH_FX_NO_MATCHING_BYTE_RANGE_LOCK = 31,
    SSH_FX_STATUS_COUNT
};

/* v3 attribute flags. */
enum {
    SSH_FILEXFER_ATTR_SIZE = 0x00000001,
    SSH_FILEXFER_ATTR_UIDGID = 0x00000002,
    SSH_FILEXFER_ATTR_PERMISSIONS = 0x00000004,
    SSH_FILEXFER_ATTR_ACMODTIME = 0x00000008,
    SSH_FILEXFER_ATTR_EXTENDED = 0x80000000u,
};

/* v3 OPEN pflags. (v5+ replaces them with desired-access + open flags; see sftp/openflags.c.) */
enum {
    SSH_FXF_READ = 0x00000001,
    SSH_FXF_WRITE = 0x00000002,
    SSH_FXF_APPEND = 0x00000004,
    SSH_FXF_CREAT = 0x00000008,
    SSH_FXF_TRUNC = 0x00000010,
    SSH_FXF_EXCL = 0x00000020,
};

/* ACE4 access mask bits used for DesiredAccess in the FileOpen notification (v5+ sends them on
 * the wire; for v3 the engine derives them from pflags). */
enum {
    ACE4_READ_DATA = 0x00000001,
    ACE4_WRITE_DATA = 0x00000002,
    ACE4_APPEND_DATA = 0x00000004,
};

/* statvfs@openssh.com f_flag bits. */
enum { SSH2_FXE_STATVFS_ST_RDONLY = 0x1, SSH2_FXE_STATVFS_ST_NOSUID = 0x2 };

/* Limits, as OpenSSH's sftp-server has them: the client sizes its requests from
 * limits@openssh.com (read/write length = max packet - 1024). */
#define SFK_SFTP_MAX_PACKET_ADVERTISED (256u * 1024u)
#define SFK_SFTP_MAX_RW_LENGTH (SFK_SFTP_MAX_PACKET_ADVERTISED - 1024u)
/* What the engine accepts on input before it treats the stream as broken: generous, so clients
 * that ignore limits@openssh.com (and send 256 KiB of data plus headers) still work. */
#define SFK_SFTP_MAX_PACKET_ACCEPTED (1024u * 1024u)
#define SFK_SFTP_MAX_HANDLES 4096u
#define SFK_SFTP_MAX_HANDLE_LEN 256u

#endif
