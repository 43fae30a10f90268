/* memfs: a wholly virtual file system served through sftpkit's file events alone — nothing
 * touches the disk. Written against the public API only (sftpkit/sftpkit.h).
 *
 * Every on_before_* event answers fraCustom, and the custom events (on_open_file, on_read_file,
 * on_write_file, on_close_file, on_find_first/next/close, on_create_directory, on_remove,
 * on_rename_file, on_request_attributes, on_set_attributes) work on an in-memory tree. */
#ifndef MEMFS_H
#define MEMFS_H

#include <stddef.h>

#include <sftpkit/sftpkit.h>

typedef struct memfs memfs;

memfs *memfs_new(void);
void memfs_free(memfs *fs);

/* Installs fs as s's event handler; the server frees fs when the handler goes (server freed
 * or another handler installed). */
int memfs_install(sftpkit_server *s, memfs *fs);

/* For tests and seeding: create a file with content (parents must exist) or a directory. */
int memfs_put(memfs *fs, const char *path, const void *data, size_t len);
int memfs_mkdir(memfs *fs, const char *path);
/* A copy of a file's content (free()), NULL if missing. */
void *memfs_get(memfs *fs, const char *path, size_t *len);

/* The largest file a client may make (SETSTAT size, a WRITE past the end): every byte lives in
 * memory, so a client must not pick the size. 16 MiB unless set; 0 is refused. */
int memfs_set_max_file_size(memfs *fs, size_t bytes);

/* Pretends to be a remote back-end (an object store, a database): every read and write takes
 * ms milliseconds. deferred 0: the handler sleeps (the server runs such handlers in parallel on
 * its WorkerThreads); deferred 1: the handler takes the request's token
 * (sftpkit_server_defer_request), returns at once, and a timer thread completes it ms later —
 * the pattern of an asynchronous client library. Call before the server starts. */
int memfs_set_latency(memfs *fs, int ms, int deferred);

#endif
