/* The SFTP engine's contract with the transport: bytes in, replies out. No sockets, no libssh.
 * One engine per SFTP channel; every call on an engine comes from that channel's one thread.
 * (The transport in core/src/server + core/src/ssh calls these; the engine lives in
 * core/src/sftp and serves files through core/src/fs.) */
#ifndef SFK_ENGINE_H
#define SFK_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sftpkit/sftpkit.h"

typedef struct sfk_engine sfk_engine;

struct sfk_host; /* sftp/host.h */

typedef struct {
    /* The server the session belongs to: logging, metrics, audit and the handler methods'
     * registry; and, when `host` is NULL, its host (events, settings). NULL in unit tests that
     * want none of it: the engine then uses the documented defaults and fires nothing. */
    sftpkit_server *server;
    /* What the engine fires events at and takes its settings from (copied; sftp/host.h). NULL:
     * the server's own host (sfk_server_host), or none without a server. */
    const struct sfk_host *host;
    int64_t connection_id;
    const char *username;
    const char *address; /* the client's address and port (audit records); NULL in unit tests */
    int port;
    /* Absolute local directory the session is confined to: the user's user_base_path, else
     * base_dir. Empty: no local file system (only event-served operations work). */
    const char *root;
    /* The server-wide descriptor budget (optional): called with +1 before a handle is created
     * (non-zero refuses it: SSH_FX_FAILURE) and with -1 when it is released. */
    int (*handle_quota)(void *ctx, int delta);
    void *quota_ctx;
    /* The client's identification string ("SSH-2.0-AsyncSSH_2.14"; NULL or "" when unknown):
     * it decides the SYMLINK argument order (sftp/symlink_order.h). */
    const char *client_banner;
    /* Set by another thread when the connection is being dropped or the server stops: long
     * requests (copy-data) give up between pieces. NULL: never. */
    const atomic_int *cancel;
    /* Set when the server is stopping (tells a cancelled handler why). NULL: never. */
    const atomic_int *stopping;
} sfk_engine_config;

/* NULL with the last error set on failure. The engine copies what it needs from cfg. */
sfk_engine *sfk_engine_new(const sfk_engine_config *cfg);
void sfk_engine_free(sfk_engine *e);

/* Feeds bytes received on the channel (any split: partial packets are kept). Replies to every
 * complete request are queued as output. Returns 0, or -1 on a fatal protocol error after which
 * the channel should be closed (the reason is in the last error). */
int sfk_engine_input(sfk_engine *e, const uint8_t *data, size_t len);

/* Queued output: the transport sends it in one write, then consumes what it sent.
 * Back-pressure: once about 512 KiB of replies are queued, the engine holds the remaining requests
 * back, and sfk_engine_consume() runs them as the queue drains — so consume can queue new output.
 * Loop "output -> write -> consume" until output returns 0 bytes before reading the channel
 * again; otherwise held requests wait for the client's next packet (which may never come). */
const uint8_t *sfk_engine_output(sfk_engine *e, size_t *len);
void sfk_engine_consume(sfk_engine *e, size_t n);

/* Parallel requests (config WorkerThreads): handlers run on other threads, so replies can become
 * ready while the transport waits. sfk_engine_poll waits up to wait_ms for one (0: no wait),
 * queues the replies that are ready and resumes held requests; it returns how many requests are
 * still in flight. While sfk_engine_wants_input is 0 the engine holds requests back (the
 * session's in-flight bound is reached, or a request waits for the parallel ones): the transport
 * must not read the channel then, only poll and send (that is what bounds a session's memory). */
int sfk_engine_poll(sfk_engine *e, int wait_ms);
int sfk_engine_wants_input(const sfk_engine *e);

/* The transport found no input for a while: the engine gives back memory it keeps for bulk
 * transfers (the parallel ops' data buffers) so an idle session costs little. */
void sfk_engine_idle(sfk_engine *e);

/* 1 while a file handle is open or a WRITE is arriving: a drain waits for this to be 0. */
int sfk_engine_has_open_files(const sfk_engine *e);

/* How many bytes the transport should ask for per channel read (this sizes libssh's window). */
size_t sfk_engine_read_size(const sfk_engine *e);

#endif
