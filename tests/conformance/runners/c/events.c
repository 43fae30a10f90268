/* The event side of a case (FORMAT.md): the recorder, the handler rules and the two behaviours
 * (listing, vfs; provider.c builds on the vfs). Everything here runs on server threads, inside the one event handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crt.h"

enum { OST_OK = 1, OST_NO_SUCH_FILE = 2, OST_ACCESS_DENIED = 3, OST_EOF = 7, FRA_CUSTOM = 2 };

static void handler_failure(crt_case *cs, const char *event, char *msg)
{
    pthread_mutex_lock(&cs->lock);
    if (!cs->handler_failure) {
        if (asprintf(&cs->handler_failure, "%s handler: %s", event, msg ? msg : "failed") < 0)
            cs->handler_failure = NULL;
    }
    pthread_mutex_unlock(&cs->lock);
    free(msg);
}

/* Reads every parameter of ev as received. */
static int read_params(int id, const sftpkit_event *ev, crt_record *r)
{
    memset(r, 0, sizeof *r);
    r->id = id;
    int n = sftpkit_event_param_count(id);
    for (int i = 0; i < n && i < 16; i++) {
        const char *name;
        int type, byref;
        if (sftpkit_event_param_info(id, i, &name, &type, &byref) != 0)
            return -1;
        r->names[i] = name;
        if (type == 2) {
            char *s = NULL;
            if (sftpkit_event_get_str(ev, name, &s) != 0)
                return -1;
            crt_val_take_str(&r->vals[i], s);
        } else {
            int64_t v = 0;
            if (sftpkit_event_get_int(ev, name, &v) != 0)
                return -1;
            crt_val_int(&r->vals[i], type == 0 ? CRT_BOOL : CRT_INT, v);
        }
        r->count = i + 1;
    }
    return 0;
}

static void record_free(crt_record *r)
{
    for (int i = 0; i < r->count; i++)
        crt_val_free(&r->vals[i]);
}

/* Sets a by-ref parameter from a value, by the parameter's type. */
static int set_param(sftpkit_event *ev, int id, const char *name, const crt_val *v, char **err)
{
    int n = sftpkit_event_param_count(id);
    for (int i = 0; i < n; i++) {
        const char *pn;
        int type, byref;
        if (sftpkit_event_param_info(id, i, &pn, &type, &byref) != 0 || strcmp(pn, name))
            continue;
        int rc;
        if (type == 2) {
            if (v->t != CRT_STR)
                return crt_fail(err, "%s must be a string", name);
            rc = sftpkit_event_set_str(ev, name, v->s);
        } else {
            if ((type == 0 && v->t != CRT_BOOL) || (type == 1 && v->t != CRT_INT))
                return crt_fail(err, "%s: wrong type of value %s", name, crt_val_show(v));
            rc = sftpkit_event_set_int(ev, name, v->i);
        }
        return rc ? crt_fail(err, "set %s: %s", name, sftpkit_last_error_message()) : 0;
    }
    return crt_fail(err, "%s has no parameter %s", sftpkit_event_name(id), name);
}

static void set_int(sftpkit_event *ev, const char *name, int64_t v)
{
    sftpkit_event_set_int(ev, name, v);
}

static int64_t pint(const crt_record *r, const char *name)
{
    const crt_val *v = crt_param(r, name);
    return v ? v->i : 0;
}

static const char *pstr(const crt_record *r, const char *name)
{
    const crt_val *v = crt_param(r, name);
    return v && v->t == CRT_STR ? v->s : "";
}

/* ---- rules --------------------------------------------------------------------------------- */

static int apply_rule(crt_case *cs, size_t idx, const json *rule, int id, sftpkit_event *ev, const crt_record *r,
                      char **err)
{
    const char *event = json_str(rule, "event");
    if (!event || strcmp(event, sftpkit_event_name(id)))
        return 0;
    const json *when = json_get(rule, "when");
    for (size_t i = 0; when && i < when->count; i++) {
        const crt_val *pv = crt_param(r, when->keys[i]);
        int ok = 0;
        if (!pv)
            return crt_fail(err, "rule %zu: %s has no parameter %s", idx, event, when->keys[i]);
        if (crt_match(cs, when->items[i], pv, r, &ok, err) < 0)
            return -1;
        if (!ok)
            return 0;
    }
    const json *once = json_get(rule, "once");
    if (once && once->t == J_BOOL && once->b && idx < sizeof cs->once_done) {
        pthread_mutex_lock(&cs->lock);
        int done = cs->once_done[idx];
        cs->once_done[idx] = 1;
        pthread_mutex_unlock(&cs->lock);
        if (done)
            return 0;
    }
    const json *sleep_ms = json_get(rule, "sleep_ms"); /* a slow handler (a database lookup) */
    if (sleep_ms && sleep_ms->t == J_NUM && sleep_ms->n > 0)
        usleep((useconds_t)sleep_ms->n * 1000);
    const json *calls = json_get(rule, "calls");
    for (size_t i = 0; calls && i < calls->count; i++)
        if (crt_api_step(cs, calls->items[i], r, err) < 0)
            return -1;
    const json *set = json_get(rule, "set");
    for (size_t i = 0; set && i < set->count; i++) {
        crt_val v;
        if (crt_resolve(cs, set->items[i], r, &v, err) < 0)
            return -1;
        int rc = set_param(ev, id, set->keys[i], &v, err);
        crt_val_free(&v);
        if (rc < 0)
            return -1;
    }
    const json *save = json_get(rule, "save");
    for (size_t i = 0; save && i < save->count; i++) {
        const crt_val *pv = save->items[i]->t == J_STR ? crt_param(r, save->items[i]->s) : NULL;
        if (!pv)
            return crt_fail(err, "rule %zu: cannot save %s", idx, save->keys[i]);
        crt_var_set(cs, save->keys[i], pv);
    }
    return 0;
}

/* ---- listing ------------------------------------------------------------------------------- */

static int serve_list_entry(crt_case *cs, const json *entries, int n, const char *handle, int64_t conn,
                            sftpkit_event *ev, const crt_record *r, char **err)
{
    if (!entries || entries->t != J_ARR || n >= (int)entries->count) {
        set_int(ev, "operation_status", OST_EOF);
        return 0;
    }
    const json *e = entries->items[n];
    for (size_t i = 0; i < e->count; i++) {
        char prop[128];
        snprintf(prop, sizeof prop, "client_file_entry_%s", e->keys[i]);
        crt_val v;
        int rc = 0;
        if (crt_resolve(cs, e->items[i], r, &v, err) < 0)
            return -1;
        int st = crt_prop_set(cs->srv, prop, 0, 0, &v, &rc);
        crt_val_free(&v);
        if (st != CRT_PROP_OK || rc != 0)
            return crt_fail(err, "listing: set %s failed", prop);
    }
    if (sftpkit_server_set_client_file_entry(cs->srv, conn, handle) != 0)
        return crt_fail(err, "listing: set_client_file_entry: %s", sftpkit_last_error_message());
    set_int(ev, "operation_status", OST_OK);
    return 0;
}

static int listing(crt_case *cs, int id, sftpkit_event *ev, const crt_record *r, char **err)
{
    const json *spec = json_get(cs->c, "listing");
    const json *entries = json_get(spec, "entries");
    int64_t conn = pint(r, "connection_id");
    if (id == SFTPKIT_EVENT_ON_FIND_FIRST) {
        const json *pm = json_get(spec, "path");
        if (pm) {
            int ok = 0;
            if (crt_match(cs, pm, crt_param(r, "path"), r, &ok, err) < 0)
                return -1;
            if (!ok)
                return 0;
        }
        const char *h = json_str(spec, "handle");
        char *handle = NULL;
        if (h) {
            if (sftpkit_event_set_str(ev, "handle", h) != 0)
                return crt_fail(err, "listing: set handle failed");
            handle = crt_strdup(h);
        } else if (sftpkit_event_get_str(ev, "handle", &handle) == 0) {
            char *copy = crt_strdup(handle);
            sftpkit_free(handle);
            handle = copy;
        }
        if (!handle)
            return crt_fail(err, "listing: no handle");
        pthread_mutex_lock(&cs->lock);
        int slot = cs->nlisting < 32 ? cs->nlisting++ : 31;
        free(cs->listing_handles[slot]);
        cs->listing_handles[slot] = handle;
        cs->listing_next[slot] = 1;
        pthread_mutex_unlock(&cs->lock);
        return serve_list_entry(cs, entries, 0, handle, conn, ev, r, err);
    }
    if (id != SFTPKIT_EVENT_ON_FIND_NEXT && id != SFTPKIT_EVENT_ON_FIND_CLOSE)
        return 0;
    const char *handle = pstr(r, "handle");
    int n = -1;
    pthread_mutex_lock(&cs->lock);
    for (int i = 0; i < cs->nlisting; i++) {
        if (cs->listing_handles[i] && !strcmp(cs->listing_handles[i], handle)) {
            n = cs->listing_next[i];
            if (id == SFTPKIT_EVENT_ON_FIND_NEXT)
                cs->listing_next[i]++;
            else {
                free(cs->listing_handles[i]);
                cs->listing_handles[i] = NULL;
            }
        }
    }
    pthread_mutex_unlock(&cs->lock);
    if (n < 0)
        return 0;
    if (id == SFTPKIT_EVENT_ON_FIND_CLOSE) {
        set_int(ev, "operation_status", OST_OK);
        return 0;
    }
    return serve_list_entry(cs, entries, n, handle, conn, ev, r, err);
}

/* ---- vfs ----------------------------------------------------------------------------------- */

typedef struct {
    char *path;
    char *data;
    size_t len;
} vfile;

struct crt_vfs {
    pthread_mutex_t lock;
    vfile *files;
    size_t nfiles;
    char **dirs;
    size_t ndirs;
    char **handles, **handle_paths; /* open file handles */
    size_t nhandles;
    char **finds; /* listing handles */
    char ***kids; /* remaining children (sorted), per listing */
    size_t *nkids, *kidpos, nfinds;
    int opens, find_count;
    /* "latency_ms" / "deferred": a slow back-end (FORMAT.md) */
    int latency_ms, deferred;
    int outstanding;         /* deferred completions still sleeping (joined at the free) */
    int cancelled;           /* deferred requests that learnt of their cancellation while asleep */
    pthread_cond_t finished; /* outstanding went down */
};

/* Lexical normalization (FORMAT.md): "/" + components, no ".", "..", empty ones. */
static char *norm(const char *p)
{
    size_t n = strlen(p);
    char *out = malloc(n + 2), *parts = strdup(p);
    if (!out || !parts)
        return free(out), free(parts), NULL;
    size_t len = 0;
    char *save = NULL;
    for (char *c = strtok_r(parts, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
            continue;
        }
        out[len++] = '/';
        memcpy(out + len, c, strlen(c));
        len += strlen(c);
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    free(parts);
    return out;
}

static char *parent_of(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return NULL;
    char *slash = strrchr(p, '/');
    if (slash == p)
        p[1] = '\0';
    else if (slash)
        *slash = '\0';
    return p;
}

static vfile *vfs_file(crt_vfs *v, const char *path)
{
    for (size_t i = 0; i < v->nfiles; i++)
        if (!strcmp(v->files[i].path, path))
            return &v->files[i];
    return NULL;
}

static int vfs_dir(crt_vfs *v, const char *path)
{
    for (size_t i = 0; i < v->ndirs; i++)
        if (!strcmp(v->dirs[i], path))
            return 1;
    return 0;
}

static vfile *vfs_add_file(crt_vfs *v, const char *path)
{
    vfile *f = realloc(v->files, (v->nfiles + 1) * sizeof *f);
    if (!f)
        return NULL;
    v->files = f;
    f = &v->files[v->nfiles];
    f->path = strdup(path);
    f->data = NULL;
    f->len = 0;
    if (!f->path)
        return NULL;
    v->nfiles++;
    return f;
}

static void vfs_del_file(crt_vfs *v, vfile *f)
{
    free(f->path);
    free(f->data);
    *f = v->files[--v->nfiles];
}

static int vfs_add_dir(crt_vfs *v, const char *path)
{
    if (vfs_dir(v, path))
        return 0;
    char **d = realloc(v->dirs, (v->ndirs + 1) * sizeof *d);
    if (!d)
        return -1;
    v->dirs = d;
    v->dirs[v->ndirs] = strdup(path);
    return v->dirs[v->ndirs] ? (v->ndirs++, 0) : -1;
}

static void vfs_del_dir(crt_vfs *v, const char *path)
{
    for (size_t i = 0; i < v->ndirs; i++) {
        if (!strcmp(v->dirs[i], path)) {
            free(v->dirs[i]);
            v->dirs[i] = v->dirs[--v->ndirs];
            return;
        }
    }
}

static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strcmp(dir, "/") ? path[0] == '/' && path[1] : !strncmp(path, dir, n) && path[n] == '/';
}

static int listed(const char *k, const char *const *names)
{
    for (; names && *names; names++)
        if (!strcmp(k, *names))
            return 1;
    return 0;
}

crt_vfs *crt_vfs_new(crt_case *cs, const json *spec, const char *const *more_members, char **err)
{
    static const char *const members[] = {"files", "dirs", "latency_ms", "deferred", "async", NULL};
    crt_vfs *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->finished, NULL);
    vfs_add_dir(v, "/");
    for (size_t i = 0; spec->t == J_OBJ && i < spec->count; i++) {
        const char *k = spec->keys[i];
        if (!listed(k, members) && !listed(k, more_members)) {
            crt_fail(err, "vfs: unknown member \"%s\"", k);
            return crt_vfs_free(v), NULL;
        }
    }
    const json *lat = json_get(spec, "latency_ms"), *def = json_get(spec, "deferred");
    v->latency_ms = lat && lat->t == J_NUM ? (int)lat->n : 0;
    v->deferred = def && def->t == J_BOOL && def->b;
    /* "async": C's asynchronous form IS the deferred ABI (FORMAT.md) */
    const json *as = json_get(spec, "async");
    v->deferred |= as && as->t == J_BOOL && as->b;
    const json *files = json_get(spec, "files"), *dirs = json_get(spec, "dirs");
    for (size_t i = 0; files && i < files->count; i++) {
        crt_val d;
        char *p = norm(files->keys[i]);
        vfile *f = p ? vfs_add_file(v, p) : NULL;
        free(p);
        if (!f || crt_resolve(cs, files->items[i], NULL, &d, err) < 0)
            return crt_vfs_free(v), NULL;
        f->data = d.s;
        f->len = d.len;
    }
    for (size_t i = 0; dirs && i < dirs->count; i++) {
        char *p = dirs->items[i]->t == J_STR ? norm(dirs->items[i]->s) : NULL;
        if (!p || vfs_add_dir(v, p) < 0)
            return free(p), crt_vfs_free(v), NULL;
        free(p);
    }
    return v;
}

void crt_vfs_free(crt_vfs *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->lock); /* deferred completions still asleep use v */
    while (v->outstanding)
        pthread_cond_wait(&v->finished, &v->lock);
    pthread_mutex_unlock(&v->lock);
    pthread_cond_destroy(&v->finished);
    while (v->nfiles)
        vfs_del_file(v, &v->files[0]);
    for (size_t i = 0; i < v->ndirs; i++)
        free(v->dirs[i]);
    for (size_t i = 0; i < v->nhandles; i++)
        free(v->handles[i]), free(v->handle_paths[i]);
    for (size_t i = 0; i < v->nfinds; i++) {
        free(v->finds[i]);
        for (size_t k = 0; k < v->nkids[i]; k++)
            free(v->kids[i][k]);
        free(v->kids[i]);
    }
    free(v->files), free(v->dirs), free(v->handles), free(v->handle_paths);
    free(v->finds), free(v->kids), free(v->nkids), free(v->kidpos);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

static const char *handle_path(crt_vfs *v, const char *handle)
{
    for (size_t i = 0; i < v->nhandles; i++)
        if (v->handles[i] && !strcmp(v->handles[i], handle))
            return v->handle_paths[i];
    return NULL;
}

static int put_entry(crt_case *cs, crt_vfs *v, const char *path, int64_t conn, const char *handle, char **err)
{
    sftpkit_server *s = cs->srv;
    vfile *f = vfs_file(v, path);
    int dir = !f;
    const char *slash = strrchr(path, '/');
    const char *name = !strcmp(path, "/") ? "/" : slash + 1;
    if (sftpkit_server_set_client_file_entry_name(s, name) || sftpkit_server_set_client_file_entry_path(s, path) ||
        sftpkit_server_set_client_file_entry_size(s, dir ? 0 : (int64_t)f->len) ||
        sftpkit_server_set_client_file_entry_directory(s, dir) ||
        sftpkit_server_set_client_file_entry_file_type(s, dir ? 1 : 0) ||
        sftpkit_server_set_client_file_entry(s, conn, handle))
        return crt_fail(err, "vfs: file entry for %s: %s", path, sftpkit_last_error_message());
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int vfs_serve(crt_case *cs, crt_vfs *v, size_t fi, int64_t conn, sftpkit_event *ev, char **err)
{
    if (v->kidpos[fi] >= v->nkids[fi]) {
        set_int(ev, "operation_status", OST_EOF);
        return 0;
    }
    if (put_entry(cs, v, v->kids[fi][v->kidpos[fi]++], conn, v->finds[fi], err) < 0)
        return -1;
    set_int(ev, "operation_status", OST_OK);
    return 0;
}

static int vfs_event(crt_case *cs, crt_vfs *v, int id, sftpkit_event *ev, const crt_record *r, char **err)
{
    int64_t conn = pint(r, "connection_id");
    char *path = crt_param(r, "path") ? norm(pstr(r, "path")) : NULL;
    const char *handle = pstr(r, "handle");
    int rc = 0;
    switch (id) {
    case SFTPKIT_EVENT_ON_OPEN_FILE: {
        int64_t modes = pint(r, "modes");
        vfile *f = vfs_file(v, path);
        char *parent = parent_of(path);
        int st = OST_OK;
        if (modes & (2 | 8 | 128 | 4 | 16)) {
            if (!vfs_dir(v, parent))
                st = OST_NO_SUCH_FILE;
            else if (vfs_dir(v, path) || ((modes & 32) && f))
                st = OST_ACCESS_DENIED;
            else if (!f)
                f = vfs_add_file(v, path);
            else if (modes & 16) {
                free(f->data);
                f->data = NULL;
                f->len = 0;
            }
        } else if (vfs_dir(v, path)) {
            st = OST_ACCESS_DENIED;
        } else if (!f) {
            st = OST_NO_SUCH_FILE;
        }
        free(parent);
        if (st == OST_OK) {
            char name[32];
            snprintf(name, sizeof name, "vfs%d", ++v->opens);
            char **h = realloc(v->handles, (v->nhandles + 1) * sizeof *h);
            char **hp = h ? realloc(v->handle_paths, (v->nhandles + 1) * sizeof *hp) : NULL;
            if (h)
                v->handles = h;
            if (hp)
                v->handle_paths = hp;
            if (!h || !hp)
                return free(path), crt_fail(err, "out of memory");
            v->handles[v->nhandles] = strdup(name);
            v->handle_paths[v->nhandles++] = strdup(path);
            sftpkit_event_set_str(ev, "handle", name);
        }
        set_int(ev, "operation_status", st);
        break;
    }
    case SFTPKIT_EVENT_ON_READ_FILE: {
        const char *p = handle_path(v, handle);
        vfile *f = p ? vfs_file(v, p) : NULL;
        int64_t off = pint(r, "offset"), size = pint(r, "size");
        if (!p) {
            set_int(ev, "operation_status", OST_NO_SUCH_FILE);
        } else if (!f || off >= (int64_t)f->len) {
            set_int(ev, "operation_status", OST_EOF);
        } else {
            size_t n = (size_t)((int64_t)f->len - off < size ? (int64_t)f->len - off : size);
            if (sftpkit_server_set_client_buffer(cs->srv, conn, handle, (const uint8_t *)f->data + off, n) != 0)
                rc = crt_fail(err, "vfs: set_client_buffer: %s", sftpkit_last_error_message());
            set_int(ev, "operation_status", OST_OK);
        }
        break;
    }
    case SFTPKIT_EVENT_ON_WRITE_FILE: {
        const char *p = handle_path(v, handle);
        vfile *f = p ? vfs_file(v, p) : NULL;
        if (!f) {
            set_int(ev, "operation_status", OST_NO_SUCH_FILE);
            break;
        }
        uint8_t *buf = NULL;
        size_t n = 0, off = (size_t)pint(r, "offset");
        if (sftpkit_server_get_client_buffer(cs->srv, conn, handle, &buf, &n) != 0) {
            rc = crt_fail(err, "vfs: get_client_buffer: %s", sftpkit_last_error_message());
            break;
        }
        if (off + n > f->len) {
            char *d = realloc(f->data, off + n + 1);
            if (!d) {
                sftpkit_free(buf);
                rc = crt_fail(err, "out of memory");
                break;
            }
            memset(d + f->len, 0, off + n - f->len);
            f->data = d;
            f->len = off + n;
        }
        if (n)
            memcpy(f->data + off, buf, n);
        sftpkit_free(buf);
        set_int(ev, "operation_status", OST_OK);
        break;
    }
    case SFTPKIT_EVENT_ON_CLOSE_FILE: {
        int st = OST_NO_SUCH_FILE;
        for (size_t i = 0; i < v->nhandles; i++) {
            if (v->handles[i] && !strcmp(v->handles[i], handle)) {
                free(v->handles[i]);
                free(v->handle_paths[i]);
                v->handles[i] = v->handle_paths[i] = NULL;
                st = OST_OK;
            }
        }
        set_int(ev, "operation_status", st);
        break;
    }
    case SFTPKIT_EVENT_ON_CREATE_DIRECTORY: {
        char *parent = parent_of(path);
        int st = vfs_file(v, path) || vfs_dir(v, path) ? OST_ACCESS_DENIED
                 : !vfs_dir(v, parent)                 ? OST_NO_SUCH_FILE
                 : vfs_add_dir(v, path) == 0           ? OST_OK
                                                       : OST_ACCESS_DENIED;
        free(parent);
        set_int(ev, "operation_status", st);
        break;
    }
    case SFTPKIT_EVENT_ON_REMOVE: {
        int st = OST_NO_SUCH_FILE;
        vfile *f = vfs_file(v, path);
        if (!strcmp(path, "/")) {
            st = OST_ACCESS_DENIED;
        } else if (f) {
            vfs_del_file(v, f);
            st = OST_OK;
        } else if (vfs_dir(v, path)) {
            int busy = 0;
            for (size_t i = 0; i < v->nfiles; i++)
                busy |= under(v->files[i].path, path);
            for (size_t i = 0; i < v->ndirs; i++)
                busy |= under(v->dirs[i], path);
            if (busy)
                st = OST_ACCESS_DENIED;
            else {
                vfs_del_dir(v, path);
                st = OST_OK;
            }
        }
        set_int(ev, "operation_status", st);
        break;
    }
    case SFTPKIT_EVENT_ON_RENAME_FILE: {
        char *oldp = norm(pstr(r, "old_path")), *newp = norm(pstr(r, "new_path"));
        char *parent = newp ? parent_of(newp) : NULL;
        int st = OST_OK;
        if (!oldp || !newp || !parent)
            st = OST_ACCESS_DENIED;
        else if ((!vfs_file(v, oldp) && !vfs_dir(v, oldp)) || !vfs_dir(v, parent))
            st = OST_NO_SUCH_FILE;
        else if (vfs_file(v, newp) || vfs_dir(v, newp))
            st = OST_ACCESS_DENIED;
        else {
            size_t ol = strlen(oldp);
            for (size_t i = 0; i < v->nfiles; i++) {
                char *p = v->files[i].path;
                if (!strcmp(p, oldp) || under(p, oldp)) {
                    char *np = NULL;
                    if (asprintf(&np, "%s%s", newp, p + ol) >= 0) {
                        free(p);
                        v->files[i].path = np;
                    }
                }
            }
            for (size_t i = 0; i < v->ndirs; i++) {
                char *p = v->dirs[i];
                if (!strcmp(p, oldp) || under(p, oldp)) {
                    char *np = NULL;
                    if (asprintf(&np, "%s%s", newp, p + ol) >= 0) {
                        free(p);
                        v->dirs[i] = np;
                    }
                }
            }
        }
        free(oldp), free(newp), free(parent);
        set_int(ev, "operation_status", st);
        break;
    }
    case SFTPKIT_EVENT_ON_REQUEST_ATTRIBUTES:
    case SFTPKIT_EVENT_ON_SET_ATTRIBUTES: {
        const char *p = path && *pstr(r, "path") ? path : handle_path(v, handle);
        if (!p || (!vfs_file(v, p) && !vfs_dir(v, p))) {
            set_int(ev, "operation_status", OST_NO_SUCH_FILE);
            break;
        }
        if (id == SFTPKIT_EVENT_ON_REQUEST_ATTRIBUTES && put_entry(cs, v, p, conn, handle, err) < 0) {
            rc = -1;
            break;
        }
        set_int(ev, "operation_status", OST_OK);
        break;
    }
    case SFTPKIT_EVENT_ON_FIND_FIRST: {
        if (!vfs_dir(v, path)) {
            set_int(ev, "operation_status", OST_NO_SUCH_FILE);
            break;
        }
        size_t fi = v->nfinds;
        char **finds = realloc(v->finds, (fi + 1) * sizeof *finds);
        char ***kids = finds ? realloc(v->kids, (fi + 1) * sizeof *kids) : NULL;
        size_t *nk = kids ? realloc(v->nkids, (fi + 1) * sizeof *nk) : NULL;
        size_t *kp = nk ? realloc(v->kidpos, (fi + 1) * sizeof *kp) : NULL;
        if (finds)
            v->finds = finds;
        if (kids)
            v->kids = kids;
        if (nk)
            v->nkids = nk;
        if (kp)
            v->kidpos = kp;
        if (!kp) {
            rc = crt_fail(err, "out of memory");
            break;
        }
        char name[32];
        snprintf(name, sizeof name, "find%d", ++v->find_count);
        v->finds[fi] = strdup(name);
        v->kids[fi] = calloc(v->nfiles + v->ndirs + 1, sizeof(char *));
        v->nkids[fi] = v->kidpos[fi] = 0;
        v->nfinds++;
        for (size_t i = 0; i < v->nfiles + v->ndirs; i++) {
            const char *c = i < v->nfiles ? v->files[i].path : v->dirs[i - v->nfiles];
            size_t pl = strcmp(path, "/") ? strlen(path) : 0;
            if (under(c, path) && !strchr(c + pl + 1, '/'))
                v->kids[fi][v->nkids[fi]++] = strdup(c);
        }
        qsort(v->kids[fi], v->nkids[fi], sizeof(char *), cmp_str);
        sftpkit_event_set_str(ev, "handle", name);
        rc = vfs_serve(cs, v, fi, conn, ev, err);
        break;
    }
    case SFTPKIT_EVENT_ON_FIND_NEXT:
    case SFTPKIT_EVENT_ON_FIND_CLOSE: {
        size_t fi = v->nfinds;
        for (size_t i = 0; i < v->nfinds; i++)
            if (v->finds[i] && !strcmp(v->finds[i], handle))
                fi = i;
        if (fi == v->nfinds) {
            set_int(ev, "operation_status", OST_NO_SUCH_FILE);
        } else if (id == SFTPKIT_EVENT_ON_FIND_NEXT) {
            rc = vfs_serve(cs, v, fi, conn, ev, err);
        } else {
            free(v->finds[fi]);
            v->finds[fi] = NULL;
            set_int(ev, "operation_status", OST_OK);
        }
        break;
    }
    default:
        break;
    }
    free(path);
    return rc;
}

/* ---- the slow back-end: "latency_ms" and "deferred" ----------------------------------------- */

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

typedef struct {
    crt_vfs *v;
    sftpkit_request *r;
    int is_write;
    char *path; /* the handle's file */
    int64_t off;
    char *data; /* a read's answer, taken when the request came */
    size_t len;
    int status;
    char *message; /* the client's text with a failure (a provider rule's) */
} deferred_job;

static void job_free(deferred_job *j)
{
    free(j->path);
    free(j->data);
    free(j->message);
    free(j);
}

/* Completes one deferred request latency_ms after it came, from its own thread: a write lands
 * in the file then (the engine starts a handle's next WRITE only after this one completed). */
static void *complete_later(void *arg)
{
    deferred_job *j = arg;
    crt_vfs *v = j->v;
    /* sleeps in short naps, so a cancellation (disconnect, stop) ends the wait early */
    int cancelled = 0;
    for (int left = v->latency_ms; left > 0 && !cancelled; left -= 10) {
        nap(left < 10 ? left : 10);
        cancelled = sftpkit_request_cancelled(j->r) != 0;
    }
    pthread_mutex_lock(&v->lock);
    v->cancelled += cancelled;
    if (cancelled)
        j->status = OST_ACCESS_DENIED; /* discarded by the server anyway */
    if (j->is_write && j->status == OST_OK) {
        vfile *f = vfs_file(v, j->path);
        const uint8_t *d = NULL;
        size_t n = 0;
        sftpkit_request_get_data(j->r, &d, &n);
        size_t off = (size_t)j->off;
        if (!f) {
            j->status = OST_NO_SUCH_FILE;
        } else if (off + n > f->len) {
            char *grown = realloc(f->data, off + n + 1);
            if (!grown) {
                j->status = OST_ACCESS_DENIED;
            } else {
                memset(grown + f->len, 0, off + n - f->len);
                f->data = grown;
                f->len = off + n;
            }
        }
        if (f && j->status == OST_OK && n)
            memcpy(f->data + off, d, n);
    }
    pthread_mutex_unlock(&v->lock);
    if (j->message && !cancelled)
        sftpkit_request_set_status_message(j->r, j->message);
    sftpkit_request_complete(j->r, j->status, (const uint8_t *)j->data, j->is_write ? 0 : j->len);
    job_free(j);
    pthread_mutex_lock(&v->lock);
    v->outstanding--;
    pthread_cond_broadcast(&v->finished);
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

static int start_job(crt_case *cs, crt_vfs *v, deferred_job *j, const crt_record *r, char **err);

/* on_read_file / on_write_file with "deferred": takes the token and returns. (v->lock held) */
static int vfs_defer(crt_case *cs, crt_vfs *v, int id, const crt_record *r, char **err)
{
    const char *handle = pstr(r, "handle");
    deferred_job *j = calloc(1, sizeof *j);
    if (!j)
        return crt_fail(err, "out of memory");
    j->v = v;
    j->is_write = id == SFTPKIT_EVENT_ON_WRITE_FILE;
    j->off = pint(r, "offset");
    j->status = OST_OK;
    const char *p = handle_path(v, handle);
    vfile *f = p ? vfs_file(v, p) : NULL;
    j->path = p ? strdup(p) : NULL;
    if (!p) {
        j->status = OST_NO_SUCH_FILE;
    } else if (!j->is_write) {
        int64_t size = pint(r, "size");
        if (!f || j->off >= (int64_t)f->len) {
            j->status = OST_EOF;
        } else {
            j->len = (size_t)((int64_t)f->len - j->off < size ? (int64_t)f->len - j->off : size);
            j->data = malloc(j->len);
            if (j->data)
                memcpy(j->data, f->data + j->off, j->len);
        }
    }
    return start_job(cs, v, j, r, err);
}

/* Takes the firing request's token and hands j to its own completion thread. (v->lock held) */
static int start_job(crt_case *cs, crt_vfs *v, deferred_job *j, const crt_record *r, char **err)
{
    j->r = sftpkit_server_defer_request(cs->srv, pint(r, "connection_id"), pstr(r, "handle"));
    if (!j->r) {
        job_free(j);
        return crt_fail(err, "vfs: defer_request: %s", sftpkit_last_error_message());
    }
    pthread_t t;
    v->outstanding++;
    if (pthread_create(&t, NULL, complete_later, j) != 0) {
        v->outstanding--;
        sftpkit_request_complete(j->r, OST_ACCESS_DENIED, NULL, 0);
        job_free(j);
        return crt_fail(err, "vfs: no thread for a deferred completion");
    }
    pthread_detach(t);
    return 0;
}

int crt_vfs_defer_failure(crt_case *cs, crt_vfs *v, int id, const crt_record *r, int status, const char *message,
                          char **err)
{
    deferred_job *j = calloc(1, sizeof *j);
    if (!j)
        return crt_fail(err, "out of memory");
    j->v = v;
    j->is_write = id == SFTPKIT_EVENT_ON_WRITE_FILE;
    j->status = status;
    j->message = message ? strdup(message) : NULL;
    pthread_mutex_lock(&v->lock);
    int rc = start_job(cs, v, j, r, err);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int crt_vfs_deferred(const crt_vfs *v)
{
    return v->deferred;
}

/* The one in-memory file system both behaviours serve: `vfs` (cs->vfs) and `provider` (a tree
 * per session or one shared tree, provider.c). */
int crt_vfs_serve(crt_case *cs, crt_vfs *v, int id, sftpkit_event *ev, const crt_record *r, char **err)
{
    const char *name = sftpkit_event_name(id);
    if (!strncmp(name, "on_before_", 10)) {
        set_int(ev, "action", FRA_CUSTOM);
        return 0;
    }
    int data_event = id == SFTPKIT_EVENT_ON_READ_FILE || id == SFTPKIT_EVENT_ON_WRITE_FILE;
    if (data_event && v->deferred) {
        pthread_mutex_lock(&v->lock);
        int rc = vfs_defer(cs, v, id, r, err);
        pthread_mutex_unlock(&v->lock);
        return rc;
    }
    if (data_event && v->latency_ms)
        nap(v->latency_ms); /* the back-end's round trip, outside the lock: handlers overlap */
    pthread_mutex_lock(&v->lock);
    int rc = vfs_event(cs, v, id, ev, r, err);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int crt_vfs_cancelled(crt_vfs *v)
{
    pthread_mutex_lock(&v->lock);
    int n = v->cancelled;
    pthread_mutex_unlock(&v->lock);
    return n;
}

char *crt_vfs_handle_path(crt_vfs *v, const char *handle)
{
    pthread_mutex_lock(&v->lock);
    const char *p = handle_path(v, handle);
    char *copy = p ? strdup(p) : NULL;
    pthread_mutex_unlock(&v->lock);
    return copy;
}

char *crt_vfs_norm(const char *path)
{
    return norm(path);
}

int crt_vfs_check(crt_case *cs, crt_vfs *v, const json *want, char **err)
{
    crt_vfs *w = crt_vfs_new(cs, want, NULL, err);
    if (!w)
        return crt_fail(err, "expect.vfs: bad description");
    int rc = 0;
    if (w->nfiles != v->nfiles || w->ndirs != v->ndirs)
        rc = crt_fail(err, "vfs has %zu files and %zu dirs, expected %zu and %zu", v->nfiles, v->ndirs, w->nfiles,
                      w->ndirs);
    for (size_t i = 0; rc == 0 && i < w->nfiles; i++) {
        vfile *f = vfs_file(v, w->files[i].path);
        if (!f)
            rc = crt_fail(err, "vfs: no file %s", w->files[i].path);
        else if (f->len != w->files[i].len || (f->len && memcmp(f->data, w->files[i].data, f->len)))
            rc = crt_fail(err, "vfs: %s has %zu bytes of other content (expected %zu)", f->path, f->len,
                          w->files[i].len);
    }
    for (size_t i = 0; rc == 0 && i < w->ndirs; i++)
        if (!vfs_dir(v, w->dirs[i]))
            rc = crt_fail(err, "vfs: no directory %s", w->dirs[i]);
    crt_vfs_free(w);
    return rc;
}

/* ---- the handler --------------------------------------------------------------------------- */

static int on_event(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    crt_case *cs = user;
    (void)s;
    crt_record r;
    char *err = NULL;
    if (read_params(id, ev, &r) < 0) {
        record_free(&r);
        handler_failure(cs, sftpkit_event_name(id), strdup("cannot read the parameters"));
        return 0;
    }
    /* record (as received) */
    pthread_mutex_lock(&cs->lock);
    size_t slot = cs->nrec;
    if (cs->nrec == cs->caprec) {
        size_t cap = cs->caprec ? cs->caprec * 2 : 64;
        crt_record *rec = realloc(cs->records, cap * sizeof *rec);
        if (rec) {
            cs->records = rec;
            cs->caprec = cap;
        }
    }
    int recorded = cs->nrec < cs->caprec;
    if (recorded) {
        crt_record *copy = &cs->records[cs->nrec++];
        *copy = r;
        copy->done = 0;
        for (int i = 0; i < r.count; i++)
            crt_val_copy(&copy->vals[i], &r.vals[i]);
    }
    pthread_mutex_unlock(&cs->lock);

    int rc = 0;
    if (cs->vfs)
        rc = crt_vfs_serve(cs, cs->vfs, id, ev, &r, &err);
    if (rc == 0 && cs->provider)
        rc = crt_provider_event(cs, id, ev, &r, &err);
    if (rc == 0 && json_get(cs->c, "listing"))
        rc = listing(cs, id, ev, &r, &err);
    if (rc == 0 && id == SFTPKIT_EVENT_ON_EXTERNAL_SIGN && json_get(cs->c, "external_signer"))
        rc = crt_external_sign(cs, ev, &r, &err);
    const json *rules = json_get(cs->c, "handlers");
    for (size_t i = 0; rc == 0 && rules && i < rules->count; i++)
        rc = apply_rule(cs, i, rules->items[i], id, ev, &r, &err);
    if (rc < 0)
        handler_failure(cs, sftpkit_event_name(id), err ? err : strdup("failed"));
    else
        free(err);
    record_free(&r);

    pthread_mutex_lock(&cs->lock);
    if (recorded)
        cs->records[slot].done = 1; /* wait_event sees only finished handlers */
    pthread_cond_broadcast(&cs->cond);
    pthread_mutex_unlock(&cs->lock);
    if (!recorded)
        handler_failure(cs, sftpkit_event_name(id), strdup("out of memory recording the event"));
    return 0;
}

int crt_install_handler(crt_case *cs, char **err)
{
    if (sftpkit_server_set_event_handler(cs->srv, on_event, cs, NULL) != 0)
        return crt_fail(err, "set_event_handler: %s", sftpkit_last_error_message());
    /* "unsubscribed": events the case leaves without a handler (the core must behave as if none) */
    const json *off = json_get(cs->c, "unsubscribed");
    for (size_t i = 0; off && i < off->count; i++) {
        int id = off->items[i]->t == J_STR ? sftpkit_event_id(off->items[i]->s) : -1;
        if (id < 0 || sftpkit_server_set_event_subscribed(cs->srv, id, 0) != 0)
            return crt_fail(err, "unsubscribed: unknown event %s", off->items[i]->t == J_STR ? off->items[i]->s : "?");
    }
    return 0;
}
