/* Runs the common client driver (tests/conformance/client/driver.py) for a client step: the
 * script and the case's variables go in on stdin, one JSON line comes back on stdout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crt.h"
#include "write_all.h"

extern char **environ;

#define CLIENT_TIMEOUT_MS 120000

static int put_val(json_buf *b, const crt_val *v)
{
    char num[32];
    switch (v->t) {
    case CRT_NULL:
        return json_buf_put(b, "null", 4);
    case CRT_BOOL:
        return v->i ? json_buf_put(b, "true", 4) : json_buf_put(b, "false", 5);
    case CRT_INT:
        snprintf(num, sizeof num, "%lld", (long long)v->i);
        return json_buf_put(b, num, strlen(num));
    case CRT_STR:
        return json_buf_str(b, v->s, v->len);
    case CRT_BYTES:
        if (json_buf_put(b, "{\"hex\":\"", 8) < 0)
            return -1;
        for (size_t i = 0; i < v->len; i++) {
            snprintf(num, sizeof num, "%02x", (unsigned char)v->s[i]);
            if (json_buf_put(b, num, 2) < 0)
                return -1;
        }
        return json_buf_put(b, "\"}", 2);
    }
    return -1;
}

int crt_client_start(crt_case *cs, const json *script, int *pid, int *out_fd, char **err)
{
    json_buf doc = {0};
    crt_val port = {0};
    char num[32];
    crt_var_get(cs, "port", &port);
    snprintf(num, sizeof num, "%lld", (long long)port.i);
    json_buf_put(&doc, "{\"host\":\"127.0.0.1\",\"port\":", 27);
    json_buf_put(&doc, num, strlen(num));
    json_buf_put(&doc, ",\"base\":", 8);
    json_buf_str(&doc, cs->conf_dir, strlen(cs->conf_dir));
    json_buf_put(&doc, ",\"vars\":{", 9);
    pthread_mutex_lock(&cs->lock);
    for (size_t i = 0; i < cs->nvars; i++) {
        if (i)
            json_buf_put(&doc, ",", 1);
        json_buf_str(&doc, cs->var_names[i], strlen(cs->var_names[i]));
        json_buf_put(&doc, ":", 1);
        put_val(&doc, &cs->var_vals[i]);
    }
    pthread_mutex_unlock(&cs->lock);
    json_buf_put(&doc, "},\"script\":", 11);
    json_write(&doc, script);
    if (json_buf_put(&doc, "}", 1) < 0) {
        free(doc.data);
        return crt_fail(err, "out of memory");
    }

    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return free(doc.data), crt_fail(err, "pipe: %s", strerror(errno));
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]);
        return free(doc.data), crt_fail(err, "pipe: %s", strerror(errno));
    }
    char *driver = crt_path_join(cs->conf_dir, "client/driver.py");
    char *argv[] = {(char *)cs->driver_python, driver, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    int rc = posix_spawn(pid, cs->driver_python, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(driver);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(in[1]), close(out[0]);
        free(doc.data);
        return crt_fail(err, "cannot run %s: %s", cs->driver_python, strerror(rc));
    }
    /* The driver reads all of stdin before it does anything, so this cannot deadlock. */
    signal(SIGPIPE, SIG_IGN);
    int wrc = test_write_all(in[1], doc.data, doc.len);
    close(in[1]);
    free(doc.data);
    *out_fd = out[0];
    if (wrc < 0)
        return crt_client_finish(*pid, *out_fd, err), crt_fail(err, "cannot write the client script");
    return 0;
}

int crt_client_finish(int pid, int out_fd, char **err)
{
    json_buf out = {0};
    char buf[4096];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int timed_out = 0;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = CLIENT_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {out_fd, POLLIN, 0};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            timed_out = 1;
            break;
        }
        ssize_t r = read(out_fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        json_buf_put(&out, buf, (size_t)r);
    }
    close(out_fd);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int rc = 0;
    if (timed_out) {
        rc = crt_fail(err, "client driver timed out");
    } else {
        /* the last non-empty line */
        char *text = out.data ? out.data : (char *)"";
        size_t len = strlen(text);
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
            text[--len] = '\0';
        char *line = strrchr(text, '\n');
        line = line ? line + 1 : text;
        char perr[128];
        json *res = json_parse(line, strlen(line), perr, sizeof perr);
        const json *ok = json_get(res, "ok");
        if (ok && ok->t == J_BOOL && ok->b && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            rc = 0;
        else if (json_str(res, "error"))
            rc = crt_fail(err, "client: %s", json_str(res, "error"));
        else
            rc = crt_fail(err, "client: driver exit %d, output \"%.200s\"",
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1, text);
        json_free(res);
    }
    free(out.data);
    return rc;
}
