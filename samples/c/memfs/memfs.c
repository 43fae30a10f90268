/* memfs: an in-memory tree behind sftpkit's file events. One mutex guards the tree, because
 * events of different connections run on different threads. */
#include "memfs.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct node {
    char *name;
    int is_dir;
    unsigned mode; /* permission bits */
    int64_t mtime, atime;
    unsigned char *data;
    size_t len, cap;
    struct node *parent, *child, *next; /* directory: first child; siblings */
    int refs;                           /* open handles keep a removed file alive */
    int detached;                       /* removed from the tree */
} node;

typedef struct open_file {
    char *handle;
    node *n;
    int append;
    struct open_file *next;
} open_file;

typedef struct listing {
    char *handle;
    char **names;
    size_t count, next_index;
    char *dir;
    struct listing *next;
} listing;

/* A deferred read or write waiting for its (simulated) back-end answer. */
typedef struct pending {
    sftpkit_request *r;
    struct timespec due;
    int is_write;
    char *handle;
    int64_t off;
    unsigned char *data; /* a read's answer, copied when the request came */
    size_t len;
    struct pending *next;
} pending;

struct memfs {
    pthread_mutex_t lock;
    node *root;
    open_file *files;
    listing *listings;
    /* memfs_set_latency */
    int latency_ms, deferred;
    pthread_t timer;
    int timer_running, timer_stop;
    pthread_cond_t timer_wake;
    pending *queue, *queue_tail; /* in due order (one latency for all) */
    size_t max_file_size;        /* memfs_set_max_file_size */
};

/* ---- the tree ------------------------------------------------------------------------------- */

static node *node_new(const char *name, int is_dir)
{
    node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = strdup(name);
    n->is_dir = is_dir;
    n->mode = is_dir ? 0755 : 0644;
    n->mtime = n->atime = (int64_t)time(NULL);
    return n;
}

static void node_free(node *n)
{
    while (n->child) {
        node *c = n->child;
        n->child = c->next;
        node_free(c);
    }
    free(n->name);
    free(n->data);
    free(n);
}

static void node_release(node *n)
{
    if (--n->refs == 0 && n->detached)
        node_free(n);
}

static node *child(node *dir, const char *name, size_t len)
{
    for (node *c = dir->child; c; c = c->next)
        if (strlen(c->name) == len && !memcmp(c->name, name, len))
            return c;
    return NULL;
}

/* Looks up an absolute path ("/a/b"); with parent_out set, returns the parent directory and
 * points *base at the last component instead. */
static node *lookup(memfs *fs, const char *path, node **parent_out, const char **base)
{
    node *cur = fs->root;
    const char *p = path;
    while (*p == '/')
        p++;
    if (parent_out && !*p)
        return NULL; /* the root has no parent */
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (parent_out && !end) {
            *parent_out = cur;
            *base = p;
            return cur;
        }
        if (!cur->is_dir || !(cur = child(cur, p, len)))
            return NULL;
        p += len;
        while (*p == '/')
            p++;
    }
    return cur;
}

static void detach(node *n)
{
    node **pp = &n->parent->child;
    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    n->next = NULL;
    n->parent = NULL;
    n->detached = 1;
}

static void attach(node *dir, node *n)
{
    n->parent = dir;
    n->next = dir->child;
    dir->child = n;
    n->detached = 0;
}

static int make(memfs *fs, const char *path, int is_dir, node **out)
{
    node *parent;
    const char *base;
    if (!lookup(fs, path, &parent, &base) || !parent->is_dir)
        return SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE;
    if (child(parent, base, strlen(base)))
        return SFTPKIT_OPERATION_STATUS_OSTINVALIDPARAMETER; /* exists */
    node *n = node_new(base, is_dir);
    if (!n)
        return SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED;
    attach(parent, n);
    parent->mtime = n->mtime;
    *out = n;
    return SFTPKIT_OPERATION_STATUS_OSTOK;
}

/* Every byte lives in memory, and a client picks the sizes (SETSTAT size, a WRITE far past the
 * end): without a cap one request could ask for terabytes (found by fuzz_engine_memfs). */
#define MEMFS_DEFAULT_MAX_FILE_SIZE ((size_t)16 * 1024 * 1024)

/* Room for len bytes, without touching the content. */
static int reserve(const memfs *fs, node *n, size_t len)
{
    if (len > fs->max_file_size)
        return -1;
    if (len > n->cap) {
        size_t cap = n->cap ? n->cap : 4096;
        while (cap < len)
            cap *= 2;
        unsigned char *d = realloc(n->data, cap);
        if (!d)
            return -1;
        n->data = d;
        n->cap = cap;
    }
    return 0;
}

/* SETSTAT size, a seed: what grows reads as zeros. */
static int set_len(const memfs *fs, node *n, size_t len)
{
    if (reserve(fs, n, len) < 0)
        return -1;
    if (len > n->len)
        memset(n->data + n->len, 0, len - n->len);
    n->len = len;
    return 0;
}

/* A WRITE at at (the end for an append handle): only a gap between the old end and at is zeroed,
 * the written range is copied once. Returns the status for the client. */
/* Makes room for len bytes at off (at the end for an append handle), zeroing any gap: *dst is
 * where they go. */
static int64_t write_room(const memfs *fs, open_file *f, int64_t off, size_t len, uint8_t **dst)
{
    if (!f || off < 0)
        return SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE;
    node *n = f->n;
    size_t at = f->append ? n->len : (size_t)off;
    size_t end = at + len;
    if (end > n->len && reserve(fs, n, end) < 0)
        return SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED;
    if (at > n->len)
        memset(n->data + n->len, 0, at - n->len);
    if (end > n->len)
        n->len = end;
    *dst = n->data + at;
    return SFTPKIT_OPERATION_STATUS_OSTOK;
}

static int64_t write_at(const memfs *fs, open_file *f, int64_t off, const uint8_t *data, size_t len)
{
    uint8_t *dst;
    int64_t st = write_room(fs, f, off, len, &dst);
    if (st == SFTPKIT_OPERATION_STATUS_OSTOK && len)
        memcpy(dst, data, len);
    return st;
}

/* ---- handles -------------------------------------------------------------------------------- */

static open_file *find_open(memfs *fs, const char *handle)
{
    for (open_file *f = fs->files; f; f = f->next)
        if (!strcmp(f->handle, handle))
            return f;
    return NULL;
}

static listing *find_listing(memfs *fs, const char *handle)
{
    for (listing *l = fs->listings; l; l = l->next)
        if (!strcmp(l->handle, handle))
            return l;
    return NULL;
}

static void listing_free(listing *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    free(l->handle);
    free(l->dir);
    free(l);
}

/* ---- events --------------------------------------------------------------------------------- */

static char *get_str(sftpkit_event *ev, const char *name)
{
    char *v = NULL;
    sftpkit_event_get_str(ev, name, &v);
    return v ? v : strdup("");
}

static int64_t get_int(sftpkit_event *ev, const char *name)
{
    int64_t v = 0;
    sftpkit_event_get_int(ev, name, &v);
    return v;
}

static void set_status(sftpkit_event *ev, int64_t ost)
{
    sftpkit_event_set_int(ev, "operation_status", ost);
}

/* Fills client_file_entry_* with n and commits it to the request in progress. */
static void commit_entry(sftpkit_server *s, int64_t conn, const char *handle, node *n, const char *name)
{
    char mt[32], at[32];
    time_t m = (time_t)n->mtime, a = (time_t)n->atime;
    struct tm tm;
    strftime(mt, sizeof mt, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&m, &tm));
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&a, &tm));
    sftpkit_server_set_client_file_entry_name(s, name);
    sftpkit_server_set_client_file_entry_path(s, "");
    sftpkit_server_set_client_file_entry_long_name(s, "");
    sftpkit_server_set_client_file_entry_size(s, (int64_t)n->len);
    sftpkit_server_set_client_file_entry_directory(s, n->is_dir);
    sftpkit_server_set_client_file_entry_file_type(s, n->is_dir ? SFTPKIT_FILE_TYPE_CFTDIRECTORY
                                                                : SFTPKIT_FILE_TYPE_CFTFILE);
    sftpkit_server_set_client_file_entry_user_read(s, !!(n->mode & 0400));
    sftpkit_server_set_client_file_entry_user_write(s, !!(n->mode & 0200));
    sftpkit_server_set_client_file_entry_user_execute(s, !!(n->mode & 0100));
    sftpkit_server_set_client_file_entry_group_read(s, !!(n->mode & 040));
    sftpkit_server_set_client_file_entry_group_write(s, !!(n->mode & 020));
    sftpkit_server_set_client_file_entry_group_execute(s, !!(n->mode & 010));
    sftpkit_server_set_client_file_entry_other_read(s, !!(n->mode & 04));
    sftpkit_server_set_client_file_entry_other_write(s, !!(n->mode & 02));
    sftpkit_server_set_client_file_entry_other_execute(s, !!(n->mode & 01));
    sftpkit_server_set_client_file_entry_m_time(s, mt);
    sftpkit_server_set_client_file_entry_a_time(s, at);
    sftpkit_server_set_client_file_entry_owner(s, "memfs");
    sftpkit_server_set_client_file_entry(s, conn, handle);
}

static void on_open(memfs *fs, sftpkit_event *ev)
{
    char *path = get_str(ev, "path"), *handle = get_str(ev, "handle");
    int64_t modes = get_int(ev, "modes");
    node *n = lookup(fs, path, NULL, NULL);
    int64_t st = SFTPKIT_OPERATION_STATUS_OSTOK;
    if (n && (modes & SFTPKIT_FILE_OPEN_MODE_CFMEXCL) && (modes & SFTPKIT_FILE_OPEN_MODE_CFMCREATE))
        st = SFTPKIT_OPERATION_STATUS_OSTINVALIDPARAMETER;
    else if (n && n->is_dir)
        st = SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED;
    else if (!n && (modes & (SFTPKIT_FILE_OPEN_MODE_CFMCREATE | SFTPKIT_FILE_OPEN_MODE_CFMOPENORCREATE)))
        st = make(fs, path, 0, &n);
    else if (!n)
        st = SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE;
    if (st == SFTPKIT_OPERATION_STATUS_OSTOK) {
        if (modes & SFTPKIT_FILE_OPEN_MODE_CFMTRUNCATE)
            n->len = 0;
        open_file *f = calloc(1, sizeof *f);
        f->handle = strdup(handle); /* the engine's handle is unique; keep it */
        f->n = n;
        f->append = !!(modes & SFTPKIT_FILE_OPEN_MODE_CFMAPPEND);
        f->next = fs->files;
        fs->files = f;
        n->refs++;
    }
    set_status(ev, st);
    free(path);
    free(handle);
}

static void on_read(memfs *fs, sftpkit_server *s, sftpkit_event *ev)
{
    char *handle = get_str(ev, "handle");
    int64_t off = get_int(ev, "offset"), size = get_int(ev, "size");
    int64_t conn = get_int(ev, "connection_id");
    open_file *f = find_open(fs, handle);
    if (!f)
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE);
    else if (off < 0 || (size_t)off >= f->n->len)
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTEOF);
    else {
        size_t n = f->n->len - (size_t)off;
        if ((int64_t)n > size)
            n = (size_t)size;
        sftpkit_server_set_client_buffer(s, conn, handle, f->n->data + off, n);
        f->n->atime = (int64_t)time(NULL);
    }
    free(handle);
}

static void on_write(memfs *fs, sftpkit_server *s, sftpkit_event *ev)
{
    char *handle = get_str(ev, "handle");
    int64_t off = get_int(ev, "offset"), conn = get_int(ev, "connection_id");
    open_file *f = find_open(fs, handle);
    size_t len = 0;
    uint8_t *dst = NULL;
    int64_t st = SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE;
    /* the data goes straight from the request into the file: its size first, then the copy
     * (get_client_buffer would allocate a copy per WRITE) */
    if (f && off >= 0 && sftpkit_server_get_client_buffer_into(s, conn, handle, NULL, 0, &len) != 0)
        st = SFTPKIT_OPERATION_STATUS_OSTINVALIDPARAMETER;
    else if (f && off >= 0 && (st = write_room(fs, f, off, len, &dst)) == SFTPKIT_OPERATION_STATUS_OSTOK) {
        size_t got = 0;
        if (len && sftpkit_server_get_client_buffer_into(s, conn, handle, dst, len, &got) != 0) {
            memset(dst, 0, len); /* never leave the room's old bytes in the file */
            st = SFTPKIT_OPERATION_STATUS_OSTINVALIDPARAMETER;
        }
        f->n->mtime = (int64_t)time(NULL);
    }
    if (st != SFTPKIT_OPERATION_STATUS_OSTOK)
        set_status(ev, st);
    free(handle);
}

static void on_close(memfs *fs, sftpkit_event *ev)
{
    char *handle = get_str(ev, "handle");
    for (open_file **pp = &fs->files; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->handle, handle)) {
            open_file *f = *pp;
            *pp = f->next;
            node_release(f->n);
            free(f->handle);
            free(f);
            break;
        }
    }
    free(handle);
}

static void on_find_first(memfs *fs, sftpkit_server *s, sftpkit_event *ev)
{
    char *path = get_str(ev, "path"), *handle = get_str(ev, "handle");
    int64_t conn = get_int(ev, "connection_id");
    node *d = lookup(fs, path, NULL, NULL);
    if (!d || !d->is_dir) {
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE);
        free(path);
        free(handle);
        return;
    }
    /* a snapshot of the names: the listing stays consistent while others change the tree */
    listing *l = calloc(1, sizeof *l);
    for (node *c = d->child; c; c = c->next)
        l->count++;
    l->names = calloc(l->count ? l->count : 1, sizeof *l->names);
    size_t i = 0;
    for (node *c = d->child; c; c = c->next)
        l->names[i++] = strdup(c->name);
    l->handle = handle;
    l->dir = path;
    l->next = fs->listings;
    fs->listings = l;
    if (l->count == 0) {
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTEOF);
        return;
    }
    commit_entry(s, conn, handle, child(d, l->names[0], strlen(l->names[0])), l->names[0]);
    l->next_index = 1;
}

static void on_find_next(memfs *fs, sftpkit_server *s, sftpkit_event *ev)
{
    char *handle = get_str(ev, "handle");
    int64_t conn = get_int(ev, "connection_id");
    listing *l = find_listing(fs, handle);
    node *d = l ? lookup(fs, l->dir, NULL, NULL) : NULL;
    node *c = NULL;
    while (l && d && l->next_index < l->count && !c) { /* skip names removed meanwhile */
        const char *nm = l->names[l->next_index++];
        if ((c = child(d, nm, strlen(nm))))
            commit_entry(s, conn, handle, c, nm);
    }
    if (!c)
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTEOF);
    free(handle);
}

static void on_find_close(memfs *fs, sftpkit_event *ev)
{
    char *handle = get_str(ev, "handle");
    for (listing **pp = &fs->listings; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->handle, handle)) {
            listing *l = *pp;
            *pp = l->next;
            listing_free(l);
            break;
        }
    }
    free(handle);
}

/* The node a path or handle request is about. */
static node *target(memfs *fs, sftpkit_event *ev)
{
    char *handle = get_str(ev, "handle");
    open_file *f = *handle ? find_open(fs, handle) : NULL;
    free(handle);
    if (f)
        return f->n;
    char *path = get_str(ev, "path");
    node *n = lookup(fs, path, NULL, NULL);
    free(path);
    return n;
}

static void on_request_attributes(memfs *fs, sftpkit_server *s, sftpkit_event *ev)
{
    node *n = target(fs, ev);
    if (!n) {
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE);
        return;
    }
    char *handle = get_str(ev, "handle");
    commit_entry(s, get_int(ev, "connection_id"), handle, n, n == fs->root ? "/" : n->name);
    free(handle);
}

static int64_t parse_time(const char *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!t ||
        sscanf(t, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void on_set_attributes(memfs *fs, sftpkit_server *s, sftpkit_event *ev)
{
    node *n = target(fs, ev);
    char *handle = get_str(ev, "handle");
    int64_t conn = get_int(ev, "connection_id");
    if (!n || sftpkit_server_get_client_file_entry(s, conn, handle) != 0) {
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE);
        free(handle);
        return;
    }
    free(handle);
    int64_t size = -1; /* -1: not part of the request */
    sftpkit_server_get_client_file_entry_size(s, &size);
    if (size >= 0 && !n->is_dir && set_len(fs, n, (size_t)size) < 0) {
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED);
        return;
    }
    char *mt = NULL, *at = NULL;
    sftpkit_server_get_client_file_entry_m_time(s, &mt);
    sftpkit_server_get_client_file_entry_a_time(s, &at);
    int64_t t;
    if ((t = parse_time(mt)) >= 0)
        n->mtime = t;
    if ((t = parse_time(at)) >= 0)
        n->atime = t;
    sftpkit_free(mt);
    sftpkit_free(at);
    int64_t type = SFTPKIT_FILE_TYPE_CFTUNKNOWN;
    sftpkit_server_get_client_file_entry_file_type(s, &type);
    if (type != SFTPKIT_FILE_TYPE_CFTUNKNOWN) { /* permissions were sent */
        static const struct {
            int (*get)(const sftpkit_server *, int *);
            unsigned bit;
        } perms[] = {
            {sftpkit_server_get_client_file_entry_user_read, 0400},
            {sftpkit_server_get_client_file_entry_user_write, 0200},
            {sftpkit_server_get_client_file_entry_user_execute, 0100},
            {sftpkit_server_get_client_file_entry_group_read, 040},
            {sftpkit_server_get_client_file_entry_group_write, 020},
            {sftpkit_server_get_client_file_entry_group_execute, 010},
            {sftpkit_server_get_client_file_entry_other_read, 04},
            {sftpkit_server_get_client_file_entry_other_write, 02},
            {sftpkit_server_get_client_file_entry_other_execute, 01},
        };
        unsigned mode = 0;
        for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++) {
            int v = 0;
            perms[i].get(s, &v);
            if (v)
                mode |= perms[i].bit;
        }
        n->mode = mode;
    }
}

static void on_create_directory(memfs *fs, sftpkit_event *ev)
{
    char *path = get_str(ev, "path");
    node *n;
    set_status(ev, make(fs, path, 1, &n));
    free(path);
}

static void on_remove(memfs *fs, sftpkit_event *ev)
{
    char *path = get_str(ev, "path");
    node *n = lookup(fs, path, NULL, NULL);
    if (!n)
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE);
    else if (n == fs->root || (n->is_dir && n->child))
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED);
    else {
        detach(n);
        if (n->refs == 0)
            node_free(n);
    }
    free(path);
}

static void on_rename(memfs *fs, sftpkit_event *ev)
{
    char *from = get_str(ev, "old_path"), *to = get_str(ev, "new_path");
    node *n = lookup(fs, from, NULL, NULL), *parent;
    const char *base;
    if (!n || n == fs->root) {
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE);
    } else if (!lookup(fs, to, &parent, &base) || !parent->is_dir) {
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE);
    } else {
        int loop = 0; /* a directory cannot move into itself */
        for (node *p = parent; p; p = p->parent)
            loop |= p == n;
        node *old = child(parent, base, strlen(base));
        if (loop || (old && old->is_dir)) {
            set_status(ev, SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED);
        } else if (old != n) {
            if (old) { /* replace the target, as posix-rename does */
                detach(old);
                if (old->refs == 0)
                    node_free(old);
            }
            detach(n);
            free(n->name);
            n->name = strdup(base);
            attach(parent, n);
        }
    }
    free(from);
    free(to);
}

static void defer(memfs *fs, sftpkit_server *s, sftpkit_event *ev, int is_write);

static int handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    memfs *fs = user;
    if (fs->latency_ms && (id == SFTPKIT_EVENT_ON_READ_FILE || id == SFTPKIT_EVENT_ON_WRITE_FILE)) {
        if (fs->deferred) {
            defer(fs, s, ev, id == SFTPKIT_EVENT_ON_WRITE_FILE);
            return 0;
        }
        struct timespec ts = {fs->latency_ms / 1000, (long)(fs->latency_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* the back-end's round trip, outside the tree's lock */
    }
    pthread_mutex_lock(&fs->lock);
    switch (id) {
    case SFTPKIT_EVENT_ON_BEFORE_CREATE_DIRECTORY:
    case SFTPKIT_EVENT_ON_BEFORE_DOWNLOAD_FILE:
    case SFTPKIT_EVENT_ON_BEFORE_FIND:
    case SFTPKIT_EVENT_ON_BEFORE_REMOVE:
    case SFTPKIT_EVENT_ON_BEFORE_RENAME_FILE:
    case SFTPKIT_EVENT_ON_BEFORE_REQUEST_ATTRIBUTES:
    case SFTPKIT_EVENT_ON_BEFORE_SET_ATTRIBUTES:
    case SFTPKIT_EVENT_ON_BEFORE_UPLOAD_FILE:
        sftpkit_event_set_int(ev, "action", SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM);
        break;
    case SFTPKIT_EVENT_ON_OPEN_FILE:
        on_open(fs, ev);
        break;
    case SFTPKIT_EVENT_ON_READ_FILE:
        on_read(fs, s, ev);
        break;
    case SFTPKIT_EVENT_ON_WRITE_FILE:
        on_write(fs, s, ev);
        break;
    case SFTPKIT_EVENT_ON_CLOSE_FILE:
        on_close(fs, ev);
        break;
    case SFTPKIT_EVENT_ON_FIND_FIRST:
        on_find_first(fs, s, ev);
        break;
    case SFTPKIT_EVENT_ON_FIND_NEXT:
        on_find_next(fs, s, ev);
        break;
    case SFTPKIT_EVENT_ON_FIND_CLOSE:
        on_find_close(fs, ev);
        break;
    case SFTPKIT_EVENT_ON_REQUEST_ATTRIBUTES:
        on_request_attributes(fs, s, ev);
        break;
    case SFTPKIT_EVENT_ON_SET_ATTRIBUTES:
        on_set_attributes(fs, s, ev);
        break;
    case SFTPKIT_EVENT_ON_CREATE_DIRECTORY:
        on_create_directory(fs, ev);
        break;
    case SFTPKIT_EVENT_ON_REMOVE:
        on_remove(fs, ev);
        break;
    case SFTPKIT_EVENT_ON_RENAME_FILE:
        on_rename(fs, ev);
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&fs->lock);
    return 0;
}

/* ---- a simulated asynchronous back-end (memfs_set_latency with deferred) -------------------- */

/* Completes each pending request when it is due. Reads were answered when they came (their data
 * is copied then); writes land in the tree when they complete, in the order they came. */
static void *timer_main(void *arg)
{
    memfs *fs = arg;
    pthread_mutex_lock(&fs->lock);
    while (!fs->timer_stop) {
        pending *p = fs->queue;
        if (!p) {
            pthread_cond_wait(&fs->timer_wake, &fs->lock);
            continue;
        }
        if (pthread_cond_timedwait(&fs->timer_wake, &fs->lock, &p->due) == 0 && !fs->timer_stop)
            continue; /* woken early: look again */
        fs->queue = p->next;
        if (!fs->queue)
            fs->queue_tail = NULL;
        int64_t st = SFTPKIT_OPERATION_STATUS_OSTOK;
        if (p->is_write) {
            open_file *f = find_open(fs, p->handle);
            const uint8_t *data = NULL;
            size_t len = 0;
            sftpkit_request_get_data(p->r, &data, &len);
            st = write_at(fs, f, p->off, data, len);
        } else if (!p->data) {
            st = p->len ? SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE : SFTPKIT_OPERATION_STATUS_OSTEOF;
        }
        pthread_mutex_unlock(&fs->lock);
        sftpkit_request_complete(p->r, (int)st, p->data, p->is_write ? 0 : p->len); /* no lock held */
        free(p->handle);
        free(p->data);
        free(p);
        pthread_mutex_lock(&fs->lock);
    }
    pthread_mutex_unlock(&fs->lock);
    return NULL;
}

static void defer(memfs *fs, sftpkit_server *s, sftpkit_event *ev, int is_write)
{
    char *handle = get_str(ev, "handle");
    int64_t off = get_int(ev, "offset"), size = get_int(ev, "size"), conn = get_int(ev, "connection_id");
    pending *p = calloc(1, sizeof *p);
    sftpkit_request *r = p ? sftpkit_server_defer_request(s, conn, handle) : NULL;
    if (!r) { /* cannot defer: answer now */
        free(p);
        set_status(ev, SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED);
        free(handle);
        return;
    }
    p->r = r;
    p->is_write = is_write;
    p->handle = handle;
    p->off = off;
    clock_gettime(CLOCK_REALTIME, &p->due);
    p->due.tv_sec += fs->latency_ms / 1000;
    p->due.tv_nsec += (long)(fs->latency_ms % 1000) * 1000000L;
    if (p->due.tv_nsec >= 1000000000L)
        p->due.tv_sec++, p->due.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&fs->lock);
    if (!is_write) {
        open_file *f = find_open(fs, handle);
        p->len = f ? 1 : 0; /* without data: 1 = no such file, 0 = end of file */
        if (f && off >= 0 && (size_t)off < f->n->len) {
            size_t n = f->n->len - (size_t)off;
            if ((int64_t)n > size)
                n = (size_t)size;
            p->data = malloc(n);
            if (p->data)
                memcpy(p->data, f->n->data + off, n);
            p->len = n;
        } else if (f) {
            p->len = 0;
        }
    }
    if (fs->queue_tail)
        fs->queue_tail->next = p;
    else
        fs->queue = p;
    fs->queue_tail = p;
    pthread_cond_signal(&fs->timer_wake);
    pthread_mutex_unlock(&fs->lock);
}

int memfs_set_max_file_size(memfs *fs, size_t bytes)
{
    if (!fs || bytes == 0)
        return -1;
    pthread_mutex_lock(&fs->lock);
    fs->max_file_size = bytes;
    pthread_mutex_unlock(&fs->lock);
    return 0;
}

int memfs_set_latency(memfs *fs, int ms, int deferred)
{
    if (!fs || ms < 0)
        return -1;
    fs->latency_ms = ms;
    fs->deferred = deferred && ms > 0;
    if (fs->deferred && !fs->timer_running) {
        pthread_cond_init(&fs->timer_wake, NULL);
        if (pthread_create(&fs->timer, NULL, timer_main, fs) != 0)
            return -1;
        fs->timer_running = 1;
    }
    return 0;
}

/* ---- life cycle and seeding ----------------------------------------------------------------- */

memfs *memfs_new(void)
{
    memfs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    pthread_mutex_init(&fs->lock, NULL);
    fs->max_file_size = MEMFS_DEFAULT_MAX_FILE_SIZE;
    fs->root = node_new("", 1);
    if (!fs->root) {
        free(fs);
        return NULL;
    }
    return fs;
}

void memfs_free(memfs *fs)
{
    if (!fs)
        return;
    if (fs->timer_running) { /* the server is gone: pending requests were cancelled; release them */
        pthread_mutex_lock(&fs->lock);
        fs->timer_stop = 1;
        pthread_cond_signal(&fs->timer_wake);
        pthread_mutex_unlock(&fs->lock);
        pthread_join(fs->timer, NULL);
        while (fs->queue) {
            pending *p = fs->queue;
            fs->queue = p->next;
            sftpkit_request_complete(p->r, SFTPKIT_OPERATION_STATUS_OSTOK, NULL, 0); /* a token is completed once */
            free(p->handle);
            free(p->data);
            free(p);
        }
        pthread_cond_destroy(&fs->timer_wake);
    }
    while (fs->files) {
        open_file *f = fs->files;
        fs->files = f->next;
        node_release(f->n);
        free(f->handle);
        free(f);
    }
    while (fs->listings) {
        listing *l = fs->listings;
        fs->listings = l->next;
        listing_free(l);
    }
    node_free(fs->root);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}

static void destroy(void *user)
{
    memfs_free(user);
}

int memfs_install(sftpkit_server *s, memfs *fs)
{
    return sftpkit_server_set_event_handler(s, handler, fs, destroy);
}

int memfs_mkdir(memfs *fs, const char *path)
{
    pthread_mutex_lock(&fs->lock);
    node *n;
    int st = make(fs, path, 1, &n);
    pthread_mutex_unlock(&fs->lock);
    return st == SFTPKIT_OPERATION_STATUS_OSTOK ? 0 : -1;
}

int memfs_put(memfs *fs, const char *path, const void *data, size_t len)
{
    pthread_mutex_lock(&fs->lock);
    node *n = lookup(fs, path, NULL, NULL);
    int rc = 0;
    if (!n && make(fs, path, 0, &n) != SFTPKIT_OPERATION_STATUS_OSTOK)
        rc = -1;
    else if (n->is_dir || set_len(fs, n, len) < 0)
        rc = -1;
    else if (len)
        memcpy(n->data, data, len);
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

void *memfs_get(memfs *fs, const char *path, size_t *len)
{
    pthread_mutex_lock(&fs->lock);
    node *n = lookup(fs, path, NULL, NULL);
    void *copy = NULL;
    if (n && !n->is_dir && (copy = malloc(n->len ? n->len : 1))) {
        memcpy(copy, n->data, n->len);
        *len = n->len;
    }
    pthread_mutex_unlock(&fs->lock);
    return copy;
}
