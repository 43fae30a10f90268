/*
 * sftpkit — an embeddable SFTP server SDK. The whole public C API.
 *
 * Conventions (libgit2 / SQLite style):
 *  - Handles are opaque; the library allocates and frees them.
 *  - Every function that can fail returns int: 0 on success, otherwise an error code
 *    (SFTPKIT_ERROR_*). On failure nothing changes, and sftpkit_last_error_code() /
 *    sftpkit_last_error_message() describe the failure for the calling thread.
 *  - Strings are UTF-8. A string or buffer returned through an out-parameter belongs to the
 *    caller and is released with sftpkit_free().
 *  - Events fire on the server's own threads; see sftpkit_server_set_event_handler().
 */
#ifndef SFTPKIT_H
#define SFTPKIT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(SFTPKIT_BUILDING)
#define SFTPKIT_API __declspec(dllexport)
#else
#define SFTPKIT_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define SFTPKIT_API __attribute__((visibility("default")))
#else
#define SFTPKIT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sftpkit_server sftpkit_server; /* opaque */
typedef struct sftpkit_key sftpkit_key;       /* opaque: an SSH key pair or public key */
typedef struct sftpkit_event sftpkit_event;   /* opaque: valid only during a handler call */

/* Constants (error codes, event ids, the document's value sets) and the per-property
 * accessors are generated from spec/ by tools/gen. */
#include "sftpkit_consts.h"
#include "sftpkit_props.h"

/* ---- library ---------------------------------------------------------------------------- */

/* "MAJOR.MINOR.PATCH" of the loaded library; static string. */
SFTPKIT_API const char *sftpkit_version(void);

/* Frees any string or buffer the library returned through an out-parameter. NULL is fine. */
SFTPKIT_API void sftpkit_free(void *p);

/* The last error of the calling thread: its code (0 when the last call succeeded) and a message
 * that names what was wrong. The message stays valid until the next sftpkit call on this thread. */
SFTPKIT_API int sftpkit_last_error_code(void);
SFTPKIT_API const char *sftpkit_last_error_message(void);

/* ---- the server ------------------------------------------------------------------------- */

/* A new server with every property at its documented default; NULL only when out of memory. */
SFTPKIT_API sftpkit_server *sftpkit_server_new(void);

/* Stops the server (closing every connection) and frees it. NULL is fine. Called from inside an
 * event handler of the same server (one of its own threads), it returns at once and the stop and
 * free finish on a library thread once that handler has returned; the handler may still use s
 * until it returns, nothing after. */
SFTPKIT_API void sftpkit_server_free(sftpkit_server *s);

/* Methods of the reference document. */
SFTPKIT_API int sftpkit_server_config(sftpkit_server *s, const char *setting, char **out);
SFTPKIT_API int sftpkit_server_do_action(sftpkit_server *s, const char *action_id, const char *params, char **out);
/* Operational metrics (sftpkit's addition; see docs/deployment.md): counters and latency
 * histograms since the server was created, as Prometheus text exposition format (serve it on
 * /metrics) or as one JSON object with the same numbers. *out is yours: sftpkit_free it. */
SFTPKIT_API int sftpkit_server_metrics_prometheus(sftpkit_server *s, char **out);
SFTPKIT_API int sftpkit_server_metrics_json(sftpkit_server *s, char **out);
SFTPKIT_API int sftpkit_server_start(sftpkit_server *s);
SFTPKIT_API int sftpkit_server_stop(sftpkit_server *s);
SFTPKIT_API int sftpkit_server_drop_client(sftpkit_server *s, int64_t connection_id, int forced);
SFTPKIT_API int sftpkit_server_list_clients(sftpkit_server *s, char **out);
SFTPKIT_API int sftpkit_server_pin_client(sftpkit_server *s, int64_t connection_id);
SFTPKIT_API int sftpkit_server_get_client_buffer(sftpkit_server *s, int64_t connection_id, const char *handle,
                                                 uint8_t **out, size_t *len);
/* The data of the WRITE in progress (on_write_file) copied into caller memory, with no allocation:
 * *len = its full size; dst NULL with cap 0 only asks the size; cap smaller than the size copies
 * nothing and fails with SFTPKIT_ERROR_INVALID_PARAMETER (*len still set). A WRITE carries at most
 * 261120 bytes, so one buffer of that size per thread always fits. Otherwise as get_client_buffer. */
SFTPKIT_API int sftpkit_server_get_client_buffer_into(sftpkit_server *s, int64_t connection_id, const char *handle,
                                                      uint8_t *dst, size_t cap, size_t *len);
SFTPKIT_API int sftpkit_server_set_client_buffer(sftpkit_server *s, int64_t connection_id, const char *handle,
                                                 const uint8_t *v, size_t len);
SFTPKIT_API int sftpkit_server_get_client_file_entry(sftpkit_server *s, int64_t connection_id, const char *handle);
SFTPKIT_API int sftpkit_server_set_client_file_entry(sftpkit_server *s, int64_t connection_id, const char *handle);

/* ---- deferred completion (sftpkit's addition) ---------------------------------------------- */

/* A READ or WRITE whose handler completes it later (opaque). A handler of on_read_file or
 * on_write_file calls sftpkit_server_defer_request and returns at once; the request stays
 * pending (its OperationStatus and any set_client_buffer of that call are ignored) until
 * sftpkit_request_complete is called, from any thread. The session keeps serving other requests
 * meanwhile (config WorkerThreads describes the ordering: replies on one handle still leave in
 * arrival order). */
typedef struct sftpkit_request sftpkit_request;

/* Why a pending request was cancelled (sftpkit_request_cancelled, the cancel handler). */
#define SFTPKIT_REQUEST_CANCEL_DISCONNECT 1 /* the client closed the connection or the link was lost */
#define SFTPKIT_REQUEST_CANCEL_DROPPED 2    /* the server dropped the connection (drop_client, a timeout) */
#define SFTPKIT_REQUEST_CANCEL_STOPPING 3   /* stop() or sftpkit_server_free */

/* Only inside on_read_file / on_write_file, for the firing request (handle may be NULL or ""
 * for "the current one"). Returns the token, or NULL with the last error set (not in such a
 * handler, or called twice). The token is valid until sftpkit_request_complete, which must be
 * called exactly once, also after a cancellation. */
SFTPKIT_API sftpkit_request *sftpkit_server_defer_request(sftpkit_server *s, int64_t connection_id, const char *handle);
/* Completes the request and releases the token. operation_status: an OperationStatus value
 * (SFTPKIT_OPERATION_STATUS_OSTOK, ...). For a READ, data/len is what was read (at most the
 * Count asked for is sent; len 0 with ostOk is the end of the file); for a WRITE data must be NULL/0. After a
 * cancellation the result is discarded (returns 0). */
SFTPKIT_API int sftpkit_request_complete(sftpkit_request *r, int operation_status, const uint8_t *data, size_t len);
/* The text the client gets with a failure status (as sftpkit_event_set_status_message does for
 * a handler that answers at once): call it before sftpkit_request_complete; at most 1024 bytes
 * are sent, NULL or "" sends the standard text. */
SFTPKIT_API int sftpkit_request_set_status_message(sftpkit_request *r, const char *message);
/* A WRITE's data (valid until complete); a READ gives NULL/0. */
SFTPKIT_API int sftpkit_request_get_data(const sftpkit_request *r, const uint8_t **data, size_t *len);
/* 0 while the request is wanted, else an SFTPKIT_REQUEST_CANCEL_* reason. */
SFTPKIT_API int sftpkit_request_cancelled(const sftpkit_request *r);
/* fn(user, r, reason) runs once when the request is cancelled, on the thread that ends the
 * session (at once, on this thread, if it already was). It must not block; it may complete r.
 * It is never called once sftpkit_request_complete has returned (a complete on another thread
 * waits for a handler already running), so user may be freed right after complete.
 * NULL fn removes the handler. */
typedef void (*sftpkit_request_cancel_fn)(void *user, sftpkit_request *r, int reason);
SFTPKIT_API int sftpkit_request_set_cancel_handler(sftpkit_request *r, sftpkit_request_cancel_fn fn, void *user);

/* ---- events ----------------------------------------------------------------------------- */

/* One handler per server receives every subscribed event (all of them unless the application
 * unsubscribes some, see sftpkit_server_set_event_subscribed). It runs on a server thread,
 * synchronously: the request waits for it. It may call back into the library (including this
 * server's methods and properties). Its return value is reserved; return 0.
 *
 * Context: inside a handler the per-connection / per-request properties (key_*,
 * client_file_entry_*, pinned_client_*) and get/set_client_buffer, get/set_client_file_entry
 * read and write the firing request's own context, whatever other sessions do at the same time;
 * pin_client fills a snapshot that belongs to the calling thread (and, inside a handler, to that
 * handler call). Outside a handler they read as their defaults on a thread that never pinned.
 * Event parameter strings are copies owned by the event for the handler's whole call. */
typedef int (*sftpkit_event_handler)(void *user, sftpkit_server *s, int event_id, sftpkit_event *ev);

/* Installs fn (NULL removes it). destroy_user, if given, is called with user once the library no
 * longer needs it: after the handler is replaced or removed and no call to it is in flight, or
 * when the server is freed. */
SFTPKIT_API int sftpkit_server_set_event_handler(sftpkit_server *s, sftpkit_event_handler fn, void *user,
                                                 void (*destroy_user)(void *user));

/* Which events reach the handler. Every event starts subscribed (a handler installed alone gets
 * everything); a binding unsubscribes the events its user set no handler for. The core then
 * behaves exactly as with no handler for that event: no event is built, and a fraCustom
 * operation whose custom event is unsubscribed answers the client OP_UNSUPPORTED. Safe from any
 * thread at any time, also while the server runs. */
SFTPKIT_API int sftpkit_server_set_event_subscribed(sftpkit_server *s, int event_id, int on);
SFTPKIT_API int sftpkit_server_get_event_subscribed(const sftpkit_server *s, int event_id, int *out);

/* "on_accept" -> SFTPKIT_EVENT_ON_ACCEPT; -1 when unknown. */
SFTPKIT_API int sftpkit_event_id(const char *name);
/* The event's spec name (static string); NULL when unknown. */
SFTPKIT_API const char *sftpkit_event_name(int event_id);
/* How many parameters event_id has, and the name/type/by-ref flag of each (for bindings and
 * logging). type: 0 bool, 1 int, 2 string. Returns SFTPKIT_ERROR_INVALID_PARAMETER when unknown. */
SFTPKIT_API int sftpkit_event_param_count(int event_id);
SFTPKIT_API int sftpkit_event_param_info(int event_id, int index, const char **name, int *type, int *byref);

/* Parameters by their spec names. Bool parameters read and write as 0/1 through the _int calls.
 * A setter works only on by-ref parameters; anything else is SFTPKIT_ERROR_INVALID_PARAMETER. */
SFTPKIT_API int sftpkit_event_get_int(const sftpkit_event *ev, const char *param, int64_t *out);
SFTPKIT_API int sftpkit_event_get_str(const sftpkit_event *ev, const char *param, char **out);
SFTPKIT_API int sftpkit_event_set_int(sftpkit_event *ev, const char *param, int64_t v);
SFTPKIT_API int sftpkit_event_set_str(sftpkit_event *ev, const char *param, const char *v);
/* The text the client receives with this request's reply when the reply is a failure status
 * (custom file events, on_before_* answering fraAbort, on_after_*); an OK reply keeps no text.
 * Last call wins; NULL or "" clears; at most 1024 bytes are kept (cut at a UTF-8 boundary). */
SFTPKIT_API int sftpkit_event_set_status_message(sftpkit_event *ev, const char *message);

/* ---- the native log ---------------------------------------------------------------------- */

/* Receives the library's log lines (those LogLevel and LogFilters let through) instead of the
 * console, so an application sends them to its own logger; LogFile still gets them too. level:
 * 1 fatal, 2 error, 3 warning, 4 info, 5 debug, 6 trace. module: "server", "ssh", "sftp",
 * "auth". message: the line without time/level prefix. Runs on server threads (and in start()
 * and stop()), never with an SDK lock held. */
typedef void (*sftpkit_log_handler)(void *user, sftpkit_server *s, int level, const char *module, const char *message);
/* Installs fn (NULL removes it); destroy_user as for sftpkit_server_set_event_handler. */
SFTPKIT_API int sftpkit_server_set_log_handler(sftpkit_server *s, sftpkit_log_handler fn, void *user,
                                               void (*destroy_user)(void *user));

/* ---- keys ------------------------------------------------------------------------------- */

SFTPKIT_API sftpkit_key *sftpkit_key_new(void);
SFTPKIT_API void sftpkit_key_free(sftpkit_key *k);
/* algorithm: "ssh-ed25519", "ssh-rsa" (bits 2048..8192, 0 = 3072), "ecdsa-sha2-nistp256/384/521". */
SFTPKIT_API int sftpkit_key_generate(sftpkit_key *k, const char *algorithm, int bits);
SFTPKIT_API int sftpkit_key_import_file(sftpkit_key *k, const char *path, const char *passphrase);
SFTPKIT_API int sftpkit_key_import_bytes(sftpkit_key *k, const uint8_t *data, size_t len, const char *passphrase);
/* "ssh-ed25519 AAAA... comment" */
SFTPKIT_API int sftpkit_key_export_public(const sftpkit_key *k, char **openssh_line);
SFTPKIT_API int sftpkit_key_get_handle(const sftpkit_key *k, int64_t *out);
/* The private key as text, for storing a generated host key: as libssh 0.10.6 writes it, OpenSSH
 * format for Ed25519 and PKCS#8 PEM for RSA and ECDSA, encrypted when passphrase is non-empty.
 * SFTPKIT_ERROR_NO_PRIVATE_KEY for a public key. */
SFTPKIT_API int sftpkit_key_export_private(const sftpkit_key *k, const char *passphrase, char **text);
/* Algorithm ("ssh-ed25519"), size in bits and SHA-256 fingerprint ("SHA256:...") of the key; any
 * out may be NULL. */
SFTPKIT_API int sftpkit_key_get_info(const sftpkit_key *k, char **algorithm, int *bits, char **fingerprint_sha256);
/* An external host key: only the public half (an OpenSSH public key line: ssh-ed25519, ssh-rsa,
 * ecdsa-sha2-nistp256/384/521) and key_id, which on_external_sign's operation_id names. Put in a
 * server_key_handle slot of a server with external_crypto_mode = 2; every signature with it is
 * made by the application's on_external_sign handler (docs/external-signing.md). */
SFTPKIT_API int sftpkit_key_import_external(sftpkit_key *k, const char *public_key, const char *key_id);

#ifdef __cplusplus
}
#endif

#endif /* SFTPKIT_H */
