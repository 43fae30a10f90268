/* The engine's inside, shared by the request-family files of core/src/sftp. Internal.
 *
 * Flow: sfk_engine_input() frames packets (engine.c) -> the dispatch table calls one handler per
 * request type (session.c, files.c, stat.c, dirs.c, paths.c, extensions.c) -> each handler
 * parses, acts (local file system in fs/, or the application's events via app.c), and appends
 * its reply to the output queue (reply.c). */
#ifndef SFK_SFTP_ENGINE_INT_H
#define SFK_SFTP_ENGINE_INT_H

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>

#include "fs/local.h"
#include "fs/path.h"
#include "sftp/attrs.h"
#include "sftp/engine.h"
#include "sftp/host.h"
#include "sftp/openflags.h"
#include "sftp/pending.h"
#include "sftp/protocol.h"
#include "sftp/wire.h"

/* ---- handles ---------------------------------------------------------------------------------- */

typedef enum { SFK_H_FREE = 0, SFK_H_FILE, SFK_H_DIR } sfk_handle_kind;

typedef struct {
    sfk_handle_kind kind;
    int custom;   /* served by the application's events, not the local file system */
    int notify;   /* NotifyOnFileOperations was on when it was opened */
    uint64_t gen; /* process-wide serial: no two handles anywhere share a generated name */
    char id[20];  /* the generated name (16 characters) */
    char *name;   /* the handle string: id, or the application's (malloc'd when `named`) */
    int named;
    size_t name_len;
    char *path;        /* client-visible absolute path ("/a/b"); path + 1 is the root-relative one */
    int fd;            /* local file */
    DIR *dir;          /* local directory */
    sfk_open_req open; /* how a file was opened (Modes for events and notifications) */
    /* custom directory listings: entries committed by set_client_file_entry, encoded as NAME
     * entries, waiting for READDIR */
    sfk_buf listing;
    uint32_t listing_count;
    int listing_eof;
    uint64_t bytes_read, bytes_written; /* served through this handle (the audit record at CLOSE) */
    struct sfk_locks *locks;            /* v6 BLOCK ranges (ext_v6.c), NULL when none */
} sfk_handle;

typedef struct {
    sfk_handle *slots;
    uint32_t cap, used;
} sfk_handle_table;

/* ---- the application's context during a handler call (get/set_client_*) ---------------------- */

typedef enum {
    SFK_CTX_NONE = 0,
    SFK_CTX_READ,     /* on_read_file: set_client_buffer fills the reply */
    SFK_CTX_WRITE,    /* on_write_file: get_client_buffer returns the data */
    SFK_CTX_FIND,     /* on_find_first/next: set_client_file_entry appends to the listing */
    SFK_CTX_ATTRS,    /* on_request_attributes: set_client_file_entry gives the reply */
    SFK_CTX_SETATTRS, /* on_set_attributes: get_client_file_entry shows the requested change */
    SFK_CTX_OTHER,    /* any other event: get_client_file_entry on open handles only */
} sfk_ctx_kind;

typedef struct sfk_ctx_s {
    sfk_ctx_kind kind;
    const char *handle; /* the handle the event is about ("" for path requests) */
    const char *path;   /* client path the event is about */
    /* WRITE */
    const uint8_t *wdata;
    size_t wlen;
    /* READ: room in the output queue for the data */
    uint8_t *rdata;
    size_t rcap, rlen;
    int rset;
    /* FIND: the listing's handle; ATTRS: the reply */
    sfk_handle *find;
    sfk_attrs attrs;
    int attrs_set;
    const sfk_attrs *set_attrs; /* SETATTRS */
} sfk_ctx;

/* ---- uid/gid -> name cache for long names --------------------------------------------------- */

/* When the queued output passes this, the engine holds further requests (and finished ops'
 * replies) until the transport drains it: a session's output stays within about this plus one
 * reply. Small on purpose: data read for a batch is still in the CPU cache when the transport
 * encrypts it (measured: about 10 % less server CPU per GiB downloaded than with 2 MiB). */
#define SFK_OUT_HIGH (512u * 1024u)

#define SFK_NAME_CACHE 16
typedef struct {
    uint32_t id[SFK_NAME_CACHE];
    char name[SFK_NAME_CACHE][33];
    int used[SFK_NAME_CACHE];
} sfk_name_cache;

/* ---- a WRITE written as it arrives (files.c) -------------------------------------------------- */

/* The transport delivers data in pieces of tens of KiB, smaller than a 255 KiB WRITE. Rather
 * than assembling such a WRITE in `in` (a copy of every uploaded byte), the engine parses its
 * header and pwrite()s the data straight from each piece; the reply goes out when the last byte
 * has arrived. Only for local files open for writing; anything else takes the normal path. */
typedef struct {
    int active;
    sfk_handle *h;
    uint32_t id;
    uint64_t off;
    uint32_t total, done;
    int status;         /* the first failure; later data is dropped and this is the reply */
    int64_t started_us; /* for the request latency metric */
} sfk_wstream;

#define SFK_STREAM_MIN (16u * 1024u) /* smaller WRITEs are simply buffered */

/* pkt: a partial WRITE packet (from its length field), `have` bytes of it, at least its header.
 * Returns 1 when streaming started (the data after the header has been written), else 0. */
int sfk_write_stream_begin(sfk_engine *e, const uint8_t *pkt, size_t have);
/* Writes up to n bytes of the streaming WRITE's data; returns how many it took (it replies and
 * ends the stream at the last byte). */
size_t sfk_write_stream_feed(sfk_engine *e, const uint8_t *p, size_t n);

/* ---- the engine ------------------------------------------------------------------------------ */

struct sfk_engine {
    sfk_host host;          /* events, file entries, the live setting (sftp/host.h); no ops: none */
    sftpkit_server *server; /* opaque: log, metrics, audit, the registry (NULL: none) */
    int64_t conn_id;
    int (*handle_quota)(void *ctx, int delta); /* the transport's descriptor budget, or NULL */
    void *quota_ctx;
    char *username;
    sfk_fs *fs;               /* NULL: no local file system */
    const atomic_int *cancel; /* see sfk_engine_config */
    int fatal;                /* a fatal protocol error happened; every call fails from now on */

    /* fleet: audit records and the request latency metric */
    char address[64]; /* the client's (after any PROXY header) */
    int port;
    int ending;       /* sfk_engine_free is closing what is still open (audit: aborted) */
    int64_t clock_us; /* when the last dispatched request ended */
    int clock_valid;  /* clock_us is from this batch of packets */

    sfk_session_settings settings; /* the snapshot taken at creation (read_settings); the fields
                                    * below start from it */
    int initialized, version;
    int min_version, max_version;
    int read_only, utf8, events;
    int symlink_draft;      /* SYMLINK carries (link, target): the client sends the draft's order */
    int allow_special_mode; /* config AllowSpecialModeBits: keep client-set 07000 bits */
    int allow_chown;        /* config AllowChangeOwner */

    sfk_buf in;     /* bytes of packets not yet processed (a partial one, or held back) */
    size_t in_off;  /* processed prefix of `in` */
    size_t in_scan; /* prefix of `in` whose packet lengths have been checked */
    sfk_buf out;    /* replies */
    size_t out_off; /* sent prefix of `out` */

    sfk_handle_table handles;
    sfk_wstream stream;
    int stream_checked; /* the partial packet in `in` was considered for streaming */

    /* Per-request scratch (one request runs at a time): normalized paths, relative to the root,
     * and their client-visible absolute forms. */
    char rel1[SFK_PATH_MAX + 1], rel2[SFK_PATH_MAX + 1];
    char abs1[SFK_PATH_MAX + 2], abs2[SFK_PATH_MAX + 2];
    char link_target[SFK_PATH_MAX + 1]; /* SYMLINK's target, verbatim, for the link events */
    uint32_t want_attrs;                /* v4+ STAT/FSTAT: the attribute flags asked for */
    uint64_t requests;                  /* dispatched so far (version-select must be the first) */
    int realpath_control;               /* v6 REALPATH's control byte while it runs, else 0 */
    uint32_t rename_flags;              /* the RENAME running (SSH_FXF_RENAME_*), for on_rename_file */

    pthread_mutex_t ctx_lock; /* guards ctx and handle-table changes against other threads */
    sfk_ctx ctx;

    sfk_name_cache users, groups;
    int registered;

    /* parallel and deferred READ/WRITE (sftp/pending.h) */
    int workers;                /* config WorkerThreads at login: 0 runs handlers inline */
    struct sfk_pool *pool;      /* the server's, or NULL (inline) */
    int pool_wanted;            /* events wired: take the server's pool at the first virtual READ/WRITE */
    const atomic_int *stopping; /* see sfk_engine_config */
    pthread_mutex_t ops_lock;   /* guards the op list and op states (never held in user code) */
    pthread_cond_t ops_cond;    /* an op finished */
    struct sfk_pend *ops_head, *ops_tail;
    int ops_count;    /* in the list (engine thread) */
    size_t ops_bytes; /* their buffers */
    int ops_live;     /* ops not yet freed, listed or not (ops_lock) */
    int orphaned;     /* sfk_engine_free ran: the last op destroys the engine */
    /* op data buffers of SFK_OP_BUF_SIZE kept for the session's next ops (ops_lock): a fresh
     * 255 KiB malloc per READ is fresh pages each time (measured: 17-21 k page faults per
     * 128 MiB virtual download); freed when the session is idle or ends */
    uint8_t *op_bufs[SFK_OPS_MAX];
    int op_nbufs;
    int holding; /* process() stopped at a request that must wait for the ops */
};

/* One parsed request. */
typedef struct {
    uint8_t type;
    uint32_t id;
    sfk_rd rd; /* the fields after the id */
} sfk_req;

typedef void (*sfk_req_fn)(sfk_engine *e, sfk_req *r);

/* Handlers, one per request type (sfk_dispatch in engine.c maps types to these). */
void sfk_req_init(sfk_engine *e, sfk_req *r);     /* session.c */
void sfk_req_extended(sfk_engine *e, sfk_req *r); /* extensions.c */
void sfk_req_open(sfk_engine *e, sfk_req *r);     /* files.c */
void sfk_req_close(sfk_engine *e, sfk_req *r);
void sfk_req_read(sfk_engine *e, sfk_req *r);
void sfk_req_write(sfk_engine *e, sfk_req *r);
void sfk_req_stat(sfk_engine *e, sfk_req *r); /* stat.c */
void sfk_req_lstat(sfk_engine *e, sfk_req *r);
void sfk_req_fstat(sfk_engine *e, sfk_req *r);
void sfk_req_setstat(sfk_engine *e, sfk_req *r);
void sfk_req_fsetstat(sfk_engine *e, sfk_req *r);
void sfk_req_opendir(sfk_engine *e, sfk_req *r); /* dirs.c */
void sfk_req_readdir(sfk_engine *e, sfk_req *r);
void sfk_req_mkdir(sfk_engine *e, sfk_req *r);
void sfk_req_rmdir(sfk_engine *e, sfk_req *r);
void sfk_req_realpath(sfk_engine *e, sfk_req *r); /* paths.c */
void sfk_req_remove(sfk_engine *e, sfk_req *r);
void sfk_req_rename(sfk_engine *e, sfk_req *r);
void sfk_req_readlink(sfk_engine *e, sfk_req *r);
void sfk_req_symlink(sfk_engine *e, sfk_req *r);

/* The extension name/version pairs of the VERSION reply (extensions.c). */
void sfk_write_extensions(sfk_engine *e);

/* Shared by families: stat.c's setstat path (lsetstat), paths.c's rename (posix-rename),
 * paths.c's realpath (expand-path), dirs.c's close of a directory (CLOSE). */
void sfk_do_setstat(sfk_engine *e, uint32_t id, int follow, const sfk_attrs *a); /* path in e->abs1/rel1 */
/* flags: SSH_FXF_RENAME_* (= crf*: on_rename_file's rename_flags); OVERWRITE replaces the target */
void sfk_do_rename(sfk_engine *e, uint32_t id, uint32_t flags);
/* RENAME and posix-rename@openssh.com: parse the two paths, then rename (posix: replace the target). */
void sfk_parse_and_rename(sfk_engine *e, sfk_req *r, int posix);
void sfk_do_remove(sfk_engine *e, uint32_t id, int directory); /* dirs.c; path in e->abs1/rel1 */
void sfk_do_realpath(sfk_engine *e, uint32_t id, const char *path, size_t len);
/* CLOSE of a file / a directory (also at teardown); returns the SFTP status, releases h. */
int sfk_close_file(sfk_engine *e, sfk_handle *h);
int sfk_close_dir(sfk_engine *e, sfk_handle *h);

/* Audit records (audit_ops.c). After a dispatched request: pkt/len is the request (type first),
 * status its reply's v3 status, replied_handle whether it replied with a handle. At a close:
 * the handle before it is released. */
void sfk_audit_request(sfk_engine *e, const uint8_t *pkt, uint32_t len, int status, int replied_handle);
void sfk_audit_close(sfk_engine *e, const sfk_handle *h, int status);

/* ---- replies (reply.c) ------------------------------------------------------------------------- */

void sfk_reply_status(sfk_engine *e, uint32_t id, int status);
void sfk_reply_errno(sfk_engine *e, uint32_t id, int neg_errno);
/* statvfs@openssh.com and space-available: takes the request's path and fills sv (0), or has
 * already replied with the error (-1). */
struct statvfs;
int sfk_statvfs_request(sfk_engine *e, sfk_req *r, struct statvfs *sv);
void sfk_reply_handle(sfk_engine *e, uint32_t id, const sfk_handle *h);
void sfk_reply_attrs(sfk_engine *e, uint32_t id, const sfk_attrs *a);
/* NAME with one entry whose long name is the name itself (REALPATH, READLINK, ...). */
void sfk_reply_name1(sfk_engine *e, uint32_t id, const char *name);
/* Encodes one NAME entry (filename, longname, attrs) into b; the long name is made here. */
void sfk_encode_entry(sfk_engine *e, sfk_buf *b, const char *name, size_t name_len, const sfk_attrs *a,
                      const char *owner, const char *group);
/* Owner/group names (the number when there is none): uncached, any thread; 0 when found. */
int sfk_lookup_user(uint32_t uid, char *out, size_t cap);
int sfk_lookup_group(uint32_t gid, char *out, size_t cap);
/* The same, cached for long names; engine thread only. */
const char *sfk_user_name(sfk_engine *e, uint32_t uid, char tmp[16]);
const char *sfk_group_name(sfk_engine *e, uint32_t gid, char tmp[16]);

/* ---- request helpers (engine.c) --------------------------------------------------------------- */

/* Reads a path string from the request and normalizes it into e->rel1/abs1 (slot 0) or
 * e->rel2/abs2 (slot 1). Returns 0, or an SFTP status (BAD_MESSAGE for a truncated packet,
 * INVALID_FILENAME...) that the caller replies with. */
int sfk_take_path(sfk_engine *e, sfk_rd *rd, int slot);
/* The permission bits a client may set: setuid, setgid and sticky only with config
 * AllowSpecialModeBits (a server running as root would otherwise let clients make set-user-id
 * programs). */
static inline uint32_t sfk_client_perm(const sfk_engine *e, uint32_t perm)
{
    return perm & (e->allow_special_mode ? 07777u : 0777u);
}
/* The request must carry nothing more (trailing bytes are tolerated, truncation is not). */
static inline int sfk_parsed(const sfk_req *r)
{
    return !r->rd.bad;
}

/* ---- handles (handles.c) ---------------------------------------------------------------------- */

/* A new slot with a generated name; NULL when the handle limit is reached or out of memory. */
sfk_handle *sfk_handle_new(sfk_engine *e, sfk_handle_kind kind, const char *abs_path);
/* Looks up the handle string; NULL when unknown. */
sfk_handle *sfk_handle_find(sfk_engine *e, const uint8_t *name, size_t len);
/* Reads a handle string from the request and looks it up. */
sfk_handle *sfk_take_handle(sfk_engine *e, sfk_rd *rd);
/* Renames a handle to the application's choice; -1 when it is taken, empty or too long. */
int sfk_handle_rename(sfk_engine *e, sfk_handle *h, const char *name);
/* Frees the slot (the caller closed the fd/dir). */
void sfk_handle_release(sfk_engine *e, sfk_handle *h);
/* Closes everything still open (engine teardown), firing the close events for custom ones. */
void sfk_handles_close_all(sfk_engine *e);
void sfk_handles_free(sfk_engine *e);

/* ---- the application (app.c) ------------------------------------------------------------------ */

typedef enum {
    SFK_OP_CREATE_DIRECTORY,
    SFK_OP_DOWNLOAD,
    SFK_OP_UPLOAD,
    SFK_OP_FIND,
    SFK_OP_REMOVE,
    SFK_OP_RENAME,
    SFK_OP_REQUEST_ATTRIBUTES,
    SFK_OP_SET_ATTRIBUTES,
} sfk_op;

/* on_before_*: returns fraAuto (also when no handler is installed), fraCustom or fraAbort. */
int sfk_app_before(sfk_engine *e, sfk_op op, const char *path, const char *path2);
/* on_before_create_link -> create (fraAuto only) -> on_after_create_link; the client's status. */
int sfk_app_link(sfk_engine *e, const char *link_path, const char *target, int hard, int (*create)(sfk_engine *e));
/* on_after_* (the ops that have one): the handler may change the status. */
void sfk_app_after(sfk_engine *e, sfk_op op, const char *path, const char *path2, int *status);
/* The custom events of path operations (on_create_directory, on_remove, on_rename_file):
 * returns the SFTP status the handler chose. */
int sfk_app_custom(sfk_engine *e, sfk_op op, const char *path, const char *path2);
/* Enters / leaves the context a handler sees through get/set_client_* (under ctx_lock). */
void sfk_ctx_enter(sfk_engine *e, const sfk_ctx *ctx);
void sfk_ctx_leave(sfk_engine *e);
/* on_notification for file operations, when the handle was opened with NotifyOnFileOperations. */
void sfk_app_notify(sfk_engine *e, const char *event_id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Is NotifyOnFileOperations on (read at each open)? */
int sfk_app_notify_enabled(sfk_engine *e);
/* ---- client_file_entry_* (entry.c; the entry type is sftp/host.h's) ------------------------- */

/* Hands the handler path's entry (get_client_file_entry) through the host: the attributes' known
 * fields, the owner's name and the long name. */
void sfk_entry_write(sfk_engine *e, const char *path, const sfk_attrs *a);
/* Appends an entry to a NAME listing being built in b. */
void sfk_entry_encode(sfk_engine *e, sfk_buf *b, const sfk_entry *en);

/* ---- registry (registry.c) -------------------------------------------------------------------- */

int sfk_registry_add(sfk_engine *e);
void sfk_registry_remove(sfk_engine *e);
/* The engine whose request is running on this thread (NULL outside requests): the methods a
 * handler calls reach their engine without a search. */
void sfk_registry_set_current(sfk_engine *e);

#endif
