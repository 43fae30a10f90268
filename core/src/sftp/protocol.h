/* SFTP wire constants (draft-ietf-secsh-filexfer-02 for v3, -13 for v4..v6) and the OpenSSH
 * extension names. Values for v4..v6 are listed where the v3 code must already leave room for
 * them (status codes, attribute flags, open flags). Internal. */
#ifndef SFK_SFTP_PROTOCOL_H
#define SFK_SFTP_PROTOCOL_H

/* The versions this engine speaks; the properties narrow the range further. v0..v2 are served
 * with v3 packets minus the requests those versions lack. */
#define SFK_SFTP_VERSION_MIN 0
#define SFK_SFTP_VERSION_MAX 6

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
    SSH_FXP_LINK = 21,    /* v6 */
    SSH_FXP_BLOCK = 22,   /* v6 */
    SSH_FXP_UNBLOCK = 23, /* v6 */
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

/* v4+ attribute flags (v4: -04, v5: -05, v6: -13). */
enum {
    SSH_FILEXFER_ATTR_ACCESSTIME = 0x00000008,
    SSH_FILEXFER_ATTR_CREATETIME = 0x00000010,
    SSH_FILEXFER_ATTR_MODIFYTIME = 0x00000020,
    SSH_FILEXFER_ATTR_ACL = 0x00000040,
    SSH_FILEXFER_ATTR_OWNERGROUP = 0x00000080,
    SSH_FILEXFER_ATTR_SUBSECOND_TIMES = 0x00000100,
    SSH_FILEXFER_ATTR_BITS = 0x00000200,            /* v5 */
    SSH_FILEXFER_ATTR_ALLOCATION_SIZE = 0x00000400, /* v6 */
    SSH_FILEXFER_ATTR_TEXT_HINT = 0x00000800,
    SSH_FILEXFER_ATTR_MIME_TYPE = 0x00001000,
    SSH_FILEXFER_ATTR_LINK_COUNT = 0x00002000,
    SSH_FILEXFER_ATTR_UNTRANSLATED_NAME = 0x00004000,
    SSH_FILEXFER_ATTR_CTIME = 0x00008000,
};

/* v4+ file type byte. */
enum {
    SSH_FILEXFER_TYPE_REGULAR = 1,
    SSH_FILEXFER_TYPE_DIRECTORY = 2,
    SSH_FILEXFER_TYPE_SYMLINK = 3,
    SSH_FILEXFER_TYPE_SPECIAL = 4,
    SSH_FILEXFER_TYPE_UNKNOWN = 5,
    SSH_FILEXFER_TYPE_SOCKET = 6, /* v5+ */
    SSH_FILEXFER_TYPE_CHAR_DEVICE = 7,
    SSH_FILEXFER_TYPE_BLOCK_DEVICE = 8,
    SSH_FILEXFER_TYPE_FIFO = 9,
};

/* v3 OPEN pflags. (v5+ replaces them with desired-access + open flags; see sftp/openflags.c.) */
enum {
    SSH_FXF_READ = 0x00000001,
    SSH_FXF_WRITE = 0x00000002,
    SSH_FXF_APPEND = 0x00000004,
    SSH_FXF_CREAT = 0x00000008,
    SSH_FXF_TRUNC = 0x00000010,
    SSH_FXF_EXCL = 0x00000020,
    SSH_FXF_TEXT = 0x00000040, /* v4 */
};

/* v5+ OPEN flags: a disposition in the low three bits, then modifiers. */
enum {
    SSH_FXF_ACCESS_DISPOSITION = 0x00000007,
    SSH_FXF_CREATE_NEW = 0,
    SSH_FXF_CREATE_TRUNCATE = 1,
    SSH_FXF_OPEN_EXISTING = 2,
    SSH_FXF_OPEN_OR_CREATE = 3,
    SSH_FXF_TRUNCATE_EXISTING = 4,
    SSH_FXF_APPEND_DATA = 0x00000008,
    SSH_FXF_APPEND_DATA_ATOMIC = 0x00000010,
    SSH_FXF_TEXT_MODE = 0x00000020,
    SSH_FXF_BLOCK_READ = 0x00000040,
    SSH_FXF_BLOCK_WRITE = 0x00000080,
    SSH_FXF_BLOCK_DELETE = 0x00000100,
    SSH_FXF_BLOCK_ADVISORY = 0x00000200, /* v6 */
    SSH_FXF_NOFOLLOW = 0x00000400,
    SSH_FXF_DELETE_ON_CLOSE = 0x00000800,
    SSH_FXF_ACCESS_AUDIT_ALARM_INFO = 0x00001000,
    SSH_FXF_ACCESS_BACKUP = 0x00002000,
    SSH_FXF_BACKUP_STREAM = 0x00004000,
    SSH_FXF_OVERRIDE_OWNER = 0x00008000,
};

/* v5+ RENAME flags. */
enum { SSH_FXF_RENAME_OVERWRITE = 1, SSH_FXF_RENAME_ATOMIC = 2, SSH_FXF_RENAME_NATIVE = 4 };

/* v6 REALPATH control byte. */
enum { SSH_FXP_REALPATH_NO_CHECK = 1, SSH_FXP_REALPATH_STAT_IF = 2, SSH_FXP_REALPATH_STAT_ALWAYS = 3 };

/* ACE4 access mask bits used for DesiredAccess in the FileOpen notification (v5+ sends them on
 * the wire; for v3 the engine derives them from pflags). */
enum {
    ACE4_READ_DATA = 0x00000001,
    ACE4_WRITE_DATA = 0x00000002,
    ACE4_APPEND_DATA = 0x00000004,
    ACE4_READ_NAMED_ATTRS = 0x00000008,
    ACE4_WRITE_NAMED_ATTRS = 0x00000010,
    ACE4_EXECUTE = 0x00000020,
    ACE4_DELETE_CHILD = 0x00000040,
    ACE4_READ_ATTRIBUTES = 0x00000080,
    ACE4_WRITE_ATTRIBUTES = 0x00000100,
    ACE4_DELETE = 0x00010000,
    ACE4_READ_ACL = 0x00020000,
    ACE4_WRITE_ACL = 0x00040000,
    ACE4_WRITE_OWNER = 0x00080000,
    ACE4_SYNCHRONIZE = 0x00100000,
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
