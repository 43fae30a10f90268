/*
 * The C conformance runner: interprets the case files tests/conformance/cases/NAME.json (FORMAT.md) with the public
 * C API of libsftpkit and drives each server with the common client driver.
 *
 *   sftpkit-conformance-c [FILTER]      (or SFTPKIT_CONFORMANCE_FILTER=substring)
 *   SFTPKIT_CONFORMANCE_DIR overrides the suite directory compiled in; SFTPKIT_CLIENT_PYTHON the
 *   driver's interpreter (/usr/bin/python3).
 *
 * Each case runs in a child process: a crash or a hang (60 s) fails that case only.
 * Prints one line per case and ends with "c: N passed, N failed".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crt.h"

#ifndef CRT_CONF_DIR
#define CRT_CONF_DIR "tests/conformance"
#endif
#define CASE_TIMEOUT_MS 60000

/* ---- small file helpers --------------------------------------------------------------------- */

char *crt_path_join(const char *a, const char *b)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

int crt_read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    json_buf b = {0};
    char buf[65536];
    size_t n;
    json_buf_put(&b, "", 0);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (json_buf_put(&b, buf, n) < 0)
            break;
    int bad = ferror(f);
    fclose(f);
    if (bad || !b.data) {
        free(b.data);
        return -1;
    }
    *data = b.data;
    *len = b.len;
    return 0;
}

int crt_mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return free(p), -1;
            *s = '/';
        }
    }
    int rc = mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void crt_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the case ------------------------------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int make_root(crt_case *cs, char **err)
{
    const json *root = json_get(json_get(cs->c, "fixture"), "root");
    const json *dirs = json_get(root, "dirs"), *files = json_get(root, "files");
    for (size_t i = 0; dirs && i < dirs->count; i++) {
        char *p = dirs->items[i]->t == J_STR ? crt_path_join(cs->tmp, dirs->items[i]->s) : NULL;
        int rc = p ? crt_mkdirs(p) : -1;
        free(p);
        if (rc < 0)
            return crt_fail(err, "fixture: cannot create a directory");
    }
    for (size_t i = 0; files && i < files->count; i++) {
        crt_val v;
        char *p = crt_path_join(cs->tmp, files->keys[i]);
        if (!p || crt_resolve(cs, files->items[i], NULL, &v, err) < 0)
            return free(p), -1;
        char *slash = strrchr(p, '/');
        *slash = '\0';
        crt_mkdirs(p);
        *slash = '/';
        FILE *f = fopen(p, "wb");
        int ok = f && (v.len == 0 || fwrite(v.s, 1, v.len, f) == v.len);
        if (f)
            fclose(f);
        crt_val_free(&v);
        free(p);
        if (!ok)
            return crt_fail(err, "fixture: cannot write %s", files->keys[i]);
    }
    return 0;
}

static int fixture(crt_case *cs, char **err)
{
    const json *fx = json_get(cs->c, "fixture");
    const json *hk = json_get(fx, "host_key");
    sftpkit_server *s = cs->srv;
    if (!hk || hk->t != J_NULL) {
        const char *alg = json_str(hk, "algorithm");
        const json *bits = json_get(hk, "bits");
        sftpkit_key *k = sftpkit_key_new();
        int64_t h = 0;
        cs->keys[cs->nkeys] = k;
        cs->key_names[cs->nkeys++] = crt_strdup("__host");
        if (!k || sftpkit_key_generate(k, alg ? alg : "ssh-ed25519", bits && bits->t == J_NUM ? (int)bits->n : 0) ||
            sftpkit_key_get_handle(k, &h) || sftpkit_server_set_server_key_count(s, 1) ||
            sftpkit_server_set_server_key_handle(s, 0, h))
            return crt_fail(err, "fixture: %s (error %d)", sftpkit_last_error_message(), sftpkit_last_error_code());
    }
    int port = free_port();
    crt_val v;
    if (port < 0 || sftpkit_server_set_host(s, "127.0.0.1") || sftpkit_server_set_port(s, port))
        return crt_fail(err, "fixture: %s", sftpkit_last_error_message());
    crt_val_int(&v, CRT_INT, port);
    crt_var_set(cs, "port", &v);
    crt_val_mem(&v, CRT_STR, "127.0.0.1", 9);
    crt_var_set(cs, "host", &v);
    crt_val_free(&v);
    const json *bd = json_get(fx, "base_dir");
    if (!(bd && bd->t == J_BOOL && !bd->b) && sftpkit_server_set_base_dir(s, cs->tmp))
        return crt_fail(err, "fixture: base_dir: %s", sftpkit_last_error_message());
    return 0;
}

static int event_matches(crt_case *cs, const json *want, const crt_record *r, int *ok, char **err)
{
    *ok = 0;
    const char *ev = json_str(want, "event");
    if (!ev)
        return crt_fail(err, "an event expectation without \"event\"");
    if (strcmp(ev, sftpkit_event_name(r->id)))
        return 0;
    const json *params = json_get(want, "params");
    for (size_t i = 0; params && i < params->count; i++) {
        const crt_val *pv = crt_param(r, params->keys[i]);
        if (!pv)
            return crt_fail(err, "%s has no parameter %s", ev, params->keys[i]);
        if (crt_match(cs, params->items[i], pv, NULL, ok, err) < 0)
            return -1;
        if (!*ok)
            return 0;
    }
    *ok = 1;
    return 0;
}

static int wait_event(crt_case *cs, const json *step, char **err)
{
    const char *name = json_str(step, "wait_event");
    const json *t = json_get(step, "timeout_ms"), *cnt = json_get(step, "count");
    int64_t count = cnt && cnt->t == J_NUM ? cnt->n : 1;
    long timeout = t && t->t == J_NUM ? (long)t->n : 5000;
    json want = {.t = J_OBJ};
    char *keys[2] = {"event", "params"};
    json *items[2] = {(json *)json_get(step, "wait_event"), (json *)json_get(step, "params")};
    want.keys = keys;
    want.items = items;
    want.count = items[1] ? 2 : 1;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout / 1000;
    deadline.tv_nsec += (timeout % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000)
        deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
    /* The lock is recursive: matchers read variables under it too. */
    pthread_mutex_lock(&cs->lock);
    for (;;) {
        int64_t matched = 0;
        for (size_t i = 0; i < cs->nrec; i++) {
            if (!cs->records[i].done)
                continue;
            int ok = 0;
            if (event_matches(cs, &want, &cs->records[i], &ok, err) < 0) {
                pthread_mutex_unlock(&cs->lock);
                return -1;
            }
            matched += ok;
        }
        if (matched >= count) {
            pthread_mutex_unlock(&cs->lock);
            return 0;
        }
        if (pthread_cond_timedwait(&cs->cond, &cs->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&cs->lock);
            return crt_fail(err, "timed out waiting for %s", name ? name : "?");
        }
    }
}

/* FORMAT.md's refused_handler_forms for C: one handler function per server, so nothing to refuse
 * at assignment; what cannot work is a deferral outside on_read_file/on_write_file. */
static int refused_handler_forms(crt_case *cs, char **err)
{
    if (sftpkit_server_defer_request(cs->srv, 1, NULL))
        return crt_fail(err, "defer_request outside a read/write handler was accepted");
    if (sftpkit_last_error_code() != SFTPKIT_ERROR_INVALID_STATE)
        return crt_fail(err, "defer_request outside a handler: error %d, expected invalid state",
                        sftpkit_last_error_code());
    if (!strstr(sftpkit_last_error_message(), "on_read_file"))
        return crt_fail(err, "defer_request's error does not name the events: %s", sftpkit_last_error_message());
    return 0;
}

static int run_steps(crt_case *cs, char **err)
{
    const json *steps = json_get(cs->c, "steps");
    for (size_t i = 0; steps && i < steps->count; i++) {
        const json *st = steps->items[i];
        int rc = 0;
        char *e = NULL;
        if (json_get(st, "client")) {
            const json *bg = json_get(st, "background");
            int pid, fd;
            rc = crt_client_start(cs, json_get(st, "client"), &pid, &fd, &e);
            if (rc == 0 && bg && bg->t == J_BOOL && bg->b && cs->nbg < 32) {
                cs->bg_pids[cs->nbg] = pid;
                cs->bg_out[cs->nbg++] = fd;
            } else if (rc == 0) {
                rc = crt_client_finish(pid, fd, &e);
            }
        } else if (json_get(st, "wait_client")) {
            for (int b = 0; b < cs->nbg; b++)
                if (crt_client_finish(cs->bg_pids[b], cs->bg_out[b], &e) < 0)
                    rc = -1;
            cs->nbg = 0;
        } else if (json_get(st, "wait_event")) {
            rc = wait_event(cs, st, &e);
        } else if (json_get(st, "refused_handler_forms")) {
            rc = refused_handler_forms(cs, &e);
        } else {
            rc = crt_api_step(cs, st, NULL, &e);
        }
        if (rc < 0) {
            crt_fail(err, "step %zu: %s", i, e ? e : "failed");
            free(e);
            return -1;
        }
        free(e);
    }
    return 0;
}

static int teardown(crt_case *cs, char **err)
{
    int rc = 0;
    if (cs->srv) {
        int active = 0;
        sftpkit_server_get_active(cs->srv, &active);
        if (active && sftpkit_server_stop(cs->srv) != 0)
            rc = crt_fail(err, "stop: %s", sftpkit_last_error_message());
    }
    for (int b = 0; b < cs->nbg; b++)
        if (crt_client_finish(cs->bg_pids[b], cs->bg_out[b], err) < 0)
            rc = -1;
    cs->nbg = 0;
    sftpkit_server_free(cs->srv);
    cs->srv = NULL;
    for (int k = 0; k < cs->nkeys; k++) {
        sftpkit_key_free(cs->keys[k]);
        free(cs->key_names[k]);
    }
    cs->nkeys = 0;
    return rc;
}

static int check_file(crt_case *cs, const char *rel, const json *m, char **err)
{
    char *path = crt_path_join(cs->tmp, rel);
    struct stat st;
    int exists = path && lstat(path, &st) == 0, rc = 0;
    if (m->t == J_NULL) {
        if (exists)
            rc = crt_fail(err, "file %s exists, expected absent", rel);
    } else if (json_get(m, "dir") && json_single_key(m)) {
        if (!exists || !S_ISDIR(st.st_mode))
            rc = crt_fail(err, "%s is not a directory", rel);
    } else if (!exists || !S_ISREG(st.st_mode)) {
        rc = crt_fail(err, "file %s does not exist", rel);
    } else if (json_get(m, "size") && json_single_key(m)) {
        crt_val size;
        int ok = 0;
        crt_val_int(&size, CRT_INT, st.st_size);
        if (crt_match(cs, json_get(m, "size"), &size, NULL, &ok, err) < 0 || !ok)
            rc = crt_fail(err, "file %s has size %lld", rel, (long long)st.st_size);
    } else {
        char *data = NULL;
        size_t len = 0;
        crt_val want = {0};
        if (crt_read_file(path, &data, &len) < 0)
            rc = crt_fail(err, "cannot read %s", rel);
        else if (crt_resolve(cs, m, NULL, &want, err) < 0)
            rc = -1;
        else if (want.len != len || memcmp(want.s, data, len))
            rc = crt_fail(err, "file %s contains %zu bytes, not the expected %zu (or other content)", rel, len,
                          want.len);
        crt_val_free(&want);
        free(data);
    }
    free(path);
    return rc;
}

static int check_expect(crt_case *cs, char **err)
{
    const json *exp = json_get(cs->c, "expect");
    const json *events = json_get(exp, "events");
    size_t pos = 0;
    for (size_t w = 0; events && w < events->count; w++) {
        int found = 0;
        while (!found && pos < cs->nrec) {
            if (event_matches(cs, events->items[w], &cs->records[pos++], &found, err) < 0)
                return -1;
        }
        if (!found) {
            json_buf b = {0};
            json_write(&b, events->items[w]);
            crt_fail(err, "expected event %.300s not found in order (%zu events recorded)", b.data ? b.data : "?",
                     cs->nrec);
            free(b.data);
            return -1;
        }
    }
    const json *absent = json_get(exp, "events_absent");
    for (size_t w = 0; absent && w < absent->count; w++) {
        for (size_t i = 0; i < cs->nrec; i++) {
            int ok = 0;
            if (event_matches(cs, absent->items[w], &cs->records[i], &ok, err) < 0)
                return -1;
            if (ok) {
                json_buf b = {0};
                json_write(&b, absent->items[w]);
                crt_fail(err, "event %.300s must not occur, but did", b.data ? b.data : "?");
                free(b.data);
                return -1;
            }
        }
    }
    const json *counts = json_get(exp, "event_counts");
    for (size_t w = 0; counts && w < counts->count; w++) {
        int id = sftpkit_event_id(counts->keys[w]), ok = 0;
        if (id < 0)
            return crt_fail(err, "unknown event %s", counts->keys[w]);
        int64_t n = 0;
        for (size_t i = 0; i < cs->nrec; i++)
            n += cs->records[i].id == id;
        crt_val nv;
        crt_val_int(&nv, CRT_INT, n);
        if (crt_match(cs, counts->items[w], &nv, NULL, &ok, err) < 0)
            return -1;
        if (!ok)
            return crt_fail(err, "%s fired %lld times", counts->keys[w], (long long)n);
    }
    const json *files = json_get(exp, "files");
    for (size_t w = 0; files && w < files->count; w++)
        if (check_file(cs, files->keys[w], files->items[w], err) < 0)
            return -1;
    const json *cancelled = json_get(exp, "vfs_cancelled_at_least");
    if (cancelled) {
        if (!cs->vfs || cancelled->t != J_NUM)
            return crt_fail(err, "expect.vfs_cancelled_at_least needs a vfs behaviour and a number");
        if (crt_vfs_cancelled(cs->vfs) < cancelled->n)
            return crt_fail(err, "%d deferred requests were told of their cancellation, expected at least %lld",
                            crt_vfs_cancelled(cs->vfs), (long long)cancelled->n);
    }
    const json *vfs = json_get(exp, "vfs");
    if (vfs) {
        if (!cs->vfs)
            return crt_fail(err, "expect.vfs without a vfs behaviour");
        if (crt_vfs_check(cs, cs->vfs, vfs, err) < 0)
            return -1;
    }
    if (crt_provider_check(cs, exp, err) < 0)
        return -1;
    const json *vars = json_get(exp, "vars");
    for (size_t w = 0; vars && w < vars->count; w++) {
        crt_val v;
        int ok = 0;
        if (crt_var_get(cs, vars->keys[w], &v) < 0)
            return crt_fail(err, "variable %s was never saved", vars->keys[w]);
        int rc = crt_match(cs, vars->items[w], &v, NULL, &ok, err);
        if (rc == 0 && !ok)
            rc = crt_fail(err, "variable %s is %s", vars->keys[w], crt_val_show(&v));
        crt_val_free(&v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int run_case(const json *c, const char *conf, const char *python, char **err)
{
    crt_case cs;
    memset(&cs, 0, sizeof cs);
    cs.c = c;
    cs.conf_dir = conf;
    cs.driver_python = python;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&cs.lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_cond_init(&cs.cond, NULL);
    snprintf(cs.tmp, sizeof cs.tmp, "/tmp/sftpkit-conf-c-XXXXXX");
    if (!mkdtemp(cs.tmp))
        return crt_fail(err, "mkdtemp: %s", strerror(errno));
    crt_val v;
    crt_val_mem(&v, CRT_STR, cs.tmp, strlen(cs.tmp));
    crt_var_set(&cs, "root", &v);
    crt_val_free(&v);

    int rc = 0;
    cs.srv = sftpkit_server_new();
    if (!cs.srv)
        rc = crt_fail(err, "sftpkit_server_new failed");
    if (rc == 0)
        rc = make_root(&cs, err);
    const json *server = json_get(c, "server");
    if (rc == 0 && server && server->t == J_BOOL && server->b)
        rc = fixture(&cs, err);
    if (rc == 0 && json_get(c, "vfs") && !(cs.vfs = crt_vfs_new(&cs, json_get(c, "vfs"), NULL, err)))
        rc = crt_fail(err, "vfs: bad description");
    if (rc == 0 && json_get(c, "provider") && !(cs.provider = crt_provider_new(&cs, json_get(c, "provider"), err)))
        rc = crt_fail(err, "provider: bad description");
    if (rc == 0)
        rc = crt_install_handler(&cs, err);
    if (rc == 0)
        rc = run_steps(&cs, err);
    if (teardown(&cs, err) < 0)
        rc = -1;
    if (rc == 0 && cs.handler_failure)
        rc = crt_fail(err, "%s", cs.handler_failure);
    if (rc == 0)
        rc = check_expect(&cs, err);

    crt_rmtree(cs.tmp);
    crt_vfs_free(cs.vfs);
    crt_provider_free(cs.provider);
    for (size_t i = 0; i < cs.nrec; i++)
        for (int p = 0; p < cs.records[i].count; p++)
            crt_val_free(&cs.records[i].vals[p]);
    free(cs.records);
    for (size_t i = 0; i < cs.nvars; i++) {
        free(cs.var_names[i]);
        crt_val_free(&cs.var_vals[i]);
    }
    free(cs.var_names);
    free(cs.var_vals);
    for (int i = 0; i < cs.nlisting; i++)
        free(cs.listing_handles[i]);
    free(cs.handler_failure);
    pthread_mutex_destroy(&cs.lock);
    pthread_cond_destroy(&cs.cond);
    return rc;
}

/* ---- main: every case in a child process ------------------------------------------------------ */

static int json_file_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

/* FORMAT.md "Kinds": 1 (behaviour) when a step runs the client driver, 0 (storage) otherwise. */
static int is_behaviour(const json *c)
{
    const json *steps = json_get(c, "steps");
    for (size_t i = 0; steps && steps->t == J_ARR && i < steps->count; i++)
        if (json_get(steps->items[i], "client"))
            return 1;
    return 0;
}

/* Runs one case in a child; returns NULL when it passed, else the reason (malloc'd). */
static char *run_isolated(const json *c, const char *conf, const char *python)
{
    int p[2];
    if (pipe(p) < 0)
        return strdup("pipe failed");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return close(p[0]), close(p[1]), strdup("fork failed");
    if (pid == 0) {
        close(p[0]);
        char *err = NULL;
        int rc = run_case(c, conf, python, &err);
        const char *msg = rc == 0 ? "" : err ? err : "failed";
        size_t n = strlen(msg);
        (void)!write(p[1], rc == 0 ? "P" : "F", 1);
        (void)!write(p[1], msg, n);
        close(p[1]);
        free(err);
        exit(0); /* not _exit: a leak checker (ASan builds) runs at exit and fails the case */
    }
    close(p[1]);
    json_buf out = {0};
    char buf[4096];
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int timed_out = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = CASE_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd pf = {p[0], POLLIN, 0};
        int n = left > 0 ? poll(&pf, 1, (int)left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            timed_out = 1;
            break;
        }
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        json_buf_put(&out, buf, (size_t)r);
    }
    close(p[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char *res = NULL;
    if (timed_out)
        res = strdup("timed out after 60 s");
    else if (!out.data || !out.len)
        res = WIFSIGNALED(status) && asprintf(&res, "the case crashed (signal %d)", WTERMSIG(status)) >= 0
                  ? res
                  : strdup("the case died without a result");
    else if (out.data[0] == 'F')
        res = strdup(out.data + 1);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        res = asprintf(&res, "passed, but the case process exited with status %d (sanitizer report on stderr?)",
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1) >= 0
                  ? res
                  : strdup("the case process failed after passing");
    free(out.data);
    return res;
}

int main(int argc, char **argv)
{
    const char *conf = getenv("SFTPKIT_CONFORMANCE_DIR") ? getenv("SFTPKIT_CONFORMANCE_DIR") : CRT_CONF_DIR;
    const char *python = getenv("SFTPKIT_CLIENT_PYTHON") ? getenv("SFTPKIT_CLIENT_PYTHON") : "/usr/bin/python3";
    const char *filter = argc > 1 ? argv[1] : getenv("SFTPKIT_CONFORMANCE_FILTER");
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *cases_dir = crt_path_join(conf, "cases");
    struct dirent **files = NULL;
    int nfiles = cases_dir ? scandir(cases_dir, &files, json_file_filter, alphasort) : -1;
    if (nfiles <= 0) {
        printf("FAIL suite: no case files in %s\n", cases_dir ? cases_dir : "?");
        printf("c: 0 passed, 1 failed\n");
        free(cases_dir);
        return 1;
    }
    int passed = 0, failed = 0;
    int kinds[2][2] = {{0, 0}, {0, 0}}; /* [behaviour?][failed?] */
    for (int f = 0; f < nfiles; f++) {
        char *path = crt_path_join(cases_dir, files[f]->d_name), *text = NULL, perr[200];
        size_t len = 0;
        json *doc = path && crt_read_file(path, &text, &len) == 0 ? json_parse(text, len, perr, sizeof perr) : NULL;
        const json *cases = json_get(doc, "cases");
        if (!cases || cases->t != J_ARR) {
            printf("FAIL %s: cannot read the case file (%s)\n", files[f]->d_name, doc ? "no cases" : perr);
            failed++;
        }
        for (size_t i = 0; cases && i < cases->count; i++) {
            const char *name = json_str(cases->items[i], "name");
            if (!name) {
                printf("FAIL %s[%zu]: a case without a name\n", files[f]->d_name, i);
                failed++;
                continue;
            }
            if (filter && *filter && !strstr(name, filter))
                continue;
            char *reason = run_isolated(cases->items[i], conf, python);
            kinds[is_behaviour(cases->items[i])][reason ? 1 : 0]++;
            if (reason) {
                char *nl = strchr(reason, '\n');
                if (nl)
                    *nl = '\0';
                printf("FAIL %s: %s\n", name, reason);
                failed++;
            } else {
                printf("PASS %s\n", name);
                passed++;
            }
            free(reason);
        }
        json_free(doc);
        free(text);
        free(path);
        free(files[f]);
    }
    free(files);
    free(cases_dir);
    printf("c by kind: behaviour %d passed, %d failed; storage %d passed, %d failed\n", kinds[1][0], kinds[1][1],
           kinds[0][0], kinds[0][1]);
    printf("c: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
