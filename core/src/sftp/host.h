/* The engine–host boundary: the ONE header through which core/src/sftp reaches the program it
 * serves. Internal.
 *
 * The engine parses SFTP, serves the local file system (core/src/fs) and writes replies. What it
 * needs from its host goes through here and nowhere else:
 *   - events: sfk_host_on_X(host, ...) (generated from spec/, sftp/host_events_gen.h), carried
 *     by the host's generic fire(); the server's host turns them into sftpkit_event calls;
 *   - settings: one sfk_session_settings snapshot taken when the engine is created, so no request
 *     reads server-wide state (the one documented live setting, NotifyOnFileOperations, is asked
 *     for at each OPEN through the host);
 *   - client_file_entry_*: the handler's file entry, through entry_get / entry_put;
 *   - status messages: the text a handler gave with a failure (thread-local, see below).
 * The server's implementation lives in core/src/api/host_server.c; tests drive the engine with a
 * fake host (tests/unit/test_sftp_host.c). Logging, metrics and audit (core/src/util) take the
 * server as an opaque handle and never read properties on a request path. */
#ifndef SFK_SFTP_HOST_H
#define SFK_SFTP_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "sftp/attrs.h"
#include "sftpkit/sftpkit.h"
#include "sftpkit/sftpkit_consts.h"

/* ---- settings: a snapshot per session --------------------------------------------------------- */

typedef struct {
    int read_only;   /* property read_only */
    int utf8;        /* property use_utf8 (a v4+ session turns it on by itself) */
    int min_version; /* properties min_sftp_version / max_sftp_version */
    int max_version;
    int workers;             /* config WorkerThreads (the session's parallel handlers; 0 = inline) */
    int allow_special_mode;  /* config AllowSpecialModeBits */
    int allow_chown;         /* config AllowChangeOwner */
    int symlink_order;       /* config SymlinkArgumentOrder: SFK_SYMLINK_* (sftp/symlink_order.h) */
    char software_name[128]; /* property ssh_settings_software_name ("" = libssh's own banner) */
} sfk_session_settings;

/* The documented defaults (what an engine without a host uses). */
void sfk_session_settings_defaults(sfk_session_settings *out);

/* ---- file entries (client_file_entry_*) ------------------------------------------------------- */

typedef struct {
    sfk_attrs attrs;
    char *name, *longname, *owner; /* longname NULL: made from the attributes */
} sfk_entry;

void sfk_entry_free(sfk_entry *en);
/* "2024-05-01T12:34:56Z" <-> seconds; parse accepts that, a space for the T, no Z, fractions,
 * or plain seconds since 1970. -1 when empty or unreadable. (Shared by both sides.) */
void sfk_time_format(int64_t t, char out[32]);
int sfk_time_parse(const char *s, int64_t *out);

/* ---- the host ---------------------------------------------------------------------------------- */

/* One event parameter in a generic fire(): i for bool/int, s for strings. A by-ref string the
 * handler replaced comes back in `set` (malloc'd, the caller's). */
typedef struct {
    int64_t i;
    const char *s;
    char *set;
} sfk_host_value;

typedef struct {
    /* Fires event_id (SFTPKIT_EVENT_*) with its n parameters in spec order; by-ref values are
     * updated in place. 1 when a handler ran, 0 when none is installed or it is unsubscribed.
     * Called without any engine lock held, on the engine's thread or a worker thread. */
    int (*fire)(void *ctx, int event_id, sfk_host_value *v, int n);
    /* Fills the session's settings; called once, when the engine is created. */
    void (*settings)(void *ctx, sfk_session_settings *out);
    /* NotifyOnFileOperations: documented as read when a file is opened, so asked at each OPEN. */
    int (*notify_on_file_operations)(void *ctx);
    /* set_client_file_entry: the entry the handler filled (0, or an SFTPKIT_ERROR_* with the last
     * error set). */
    int (*entry_get)(void *ctx, sfk_entry *out);
    /* get_client_file_entry: hands the handler path's entry (owner "" when unknown; longname ""
     * when nothing is known). */
    void (*entry_put)(void *ctx, const char *path, const char *name, const sfk_attrs *a, const char *owner,
                      const char *longname);
} sfk_host_ops;

struct sfk_host {
    const sfk_host_ops *ops; /* NULL: no host (defaults, no events) */
    void *ctx;
};
typedef struct sfk_host sfk_host;

/* The server's host (core/src/api/host_server.c): events, properties and config of s. */
sfk_host sfk_server_host(sftpkit_server *s);

/* The server's slot for its engine registry (sftp/registry.c owns the object): returns the
 * installed one, or installs `fresh` when there is none and fresh is not NULL. */
struct sfk_sftp_registry;
struct sfk_sftp_registry *sfk_server_registry(sftpkit_server *s, struct sfk_sftp_registry *fresh);
/* Frees a registry (server teardown, after every connection thread is joined). */
void sfk_sftp_registry_free(struct sfk_sftp_registry *r);

/* ---- status messages (sftpkit_event_set_status_message) ---------------------------------------- */

/* The text a handler gives with a failure travels on the thread that serves the request: the
 * handler runs on it and the same thread writes the STATUS reply (a worker thread takes it off
 * and the request carries it). */
const char *sfk_host_message_pending(void); /* NULL: none */
void sfk_host_message_clear(void);
char *sfk_host_message_take(void);     /* the caller frees it */
void sfk_host_message_give(char *msg); /* owned, may be NULL */
/* A client-bound copy (bounded, never splitting UTF-8); NULL for NULL/"", *oom on failure. */
char *sfk_host_message_copy(const char *message, int *oom);

#include "sftp/host_events_gen.h"

#endif
