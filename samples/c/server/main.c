/* sftpkit-server: serves a directory over SFTP. The first sample, and `make run`.
 *
 *   sftpkit-server --root DIR [--host 127.0.0.1] [--port 2222] [--user NAME:PASSWORD]...
 *                  [--authorized-key NAME:FILE]... [--host-key FILE] [--read-only] [--log LEVEL]
 *                  [--metrics ADDR:PORT] [--config NAME=VALUE]...
 *
 * --metrics serves Prometheus text on http://ADDR:PORT/metrics; --config passes any config()
 * setting (ProxyProtocol=..., AuditLogFile=..., DrainTimeout=...; see docs/deployment.md).
 *
 * Uses only the public C API. Creates the host key file (Ed25519) when it is missing, prints the
 * listening address and the host key fingerprint, and stops cleanly on SIGINT/SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sftpkit/sftpkit.h>

#include "metrics_http.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int fail(const char *what)
{
    fprintf(stderr, "sftpkit-server: %s: %s (error %d)\n", what, sftpkit_last_error_message(),
            sftpkit_last_error_code());
    return 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: sftpkit-server --root DIR [--host ADDR] [--port N] [--user NAME:PASSWORD]...\n"
                    "                      [--authorized-key NAME:FILE]... [--host-key FILE] [--read-only]\n"
                    "                      [--log none|error|warning|info|debug|trace]\n"
                    "                      [--metrics ADDR:PORT] [--config NAME=VALUE]...\n");
}

typedef struct {
    char *name, *password, *keys; /* keys: authorized_keys lines */
} user_entry;

static user_entry *find_or_add(user_entry **users, int *n, const char *name, size_t name_len)
{
    for (int i = 0; i < *n; i++)
        if (strlen((*users)[i].name) == name_len && !strncmp((*users)[i].name, name, name_len))
            return &(*users)[i];
    user_entry *grown = realloc(*users, (size_t)(*n + 1) * sizeof **users);
    if (!grown)
        return NULL;
    *users = grown;
    user_entry *u = &grown[(*n)++];
    memset(u, 0, sizeof *u);
    u->name = strndup(name, name_len);
    return u;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        char *grown = realloc(text, len + 2);
        if (!grown)
            break;
        text = grown;
        text[len++] = (char)c;
    }
    fclose(f);
    if (text)
        text[len] = '\0';
    return text;
}

/* Loads the host key from path, creating it (Ed25519, mode 0600) when missing. */
static int load_host_key(sftpkit_key *key, const char *path)
{
    if (access(path, F_OK) == 0)
        return sftpkit_key_import_file(key, path, "");
    int rc = sftpkit_key_generate(key, "ssh-ed25519", 0);
    char *text = NULL;
    if (!rc)
        rc = sftpkit_key_export_private(key, "", &text);
    if (rc)
        return rc;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "sftpkit-server: cannot write %s: %s\n", path, strerror(errno));
        sftpkit_free(text);
        return -1;
    }
    chmod(path, 0600);
    fputs(text, f);
    fclose(f);
    sftpkit_free(text);
    return 0;
}

int main(int argc, char **argv)
{
    const char *root = NULL, *host = "127.0.0.1", *host_key_path = "sftpkit-host-key", *log_level = NULL;
    const char *metrics_at = NULL, *settings[64];
    int n_settings = 0;
    long port = 2222;
    int read_only = 0, n_users = 0;
    user_entry *users = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--read-only")) {
            read_only = 1;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        const char *colon = strchr(v, ':');
        if (!strcmp(a, "--root"))
            root = v;
        else if (!strcmp(a, "--host"))
            host = v;
        else if (!strcmp(a, "--port"))
            port = strtol(v, NULL, 10);
        else if (!strcmp(a, "--host-key"))
            host_key_path = v;
        else if (!strcmp(a, "--log"))
            log_level = v;
        else if (!strcmp(a, "--metrics"))
            metrics_at = v;
        else if (!strcmp(a, "--config") && n_settings < 64)
            settings[n_settings++] = v;
        else if ((!strcmp(a, "--user") || !strcmp(a, "--authorized-key")) && colon) {
            user_entry *u = find_or_add(&users, &n_users, v, (size_t)(colon - v));
            if (!u)
                return 1;
            if (a[2] == 'u') {
                u->password = strdup(colon + 1);
            } else {
                u->keys = read_file(colon + 1);
                if (!u->keys) {
                    fprintf(stderr, "sftpkit-server: cannot read %s\n", colon + 1);
                    return 2;
                }
            }
        } else {
            usage();
            return 2;
        }
    }
    if (!root) {
        usage();
        return 2;
    }
    char *real_root = realpath(root, NULL);
    if (!real_root) {
        fprintf(stderr, "sftpkit-server: --root %s: %s\n", root, strerror(errno));
        return 2;
    }
    if (n_users == 0) { /* the embedded default of `make run` */
        user_entry *u = find_or_add(&users, &n_users, "demo", 4);
        u->password = strdup("demo");
    }

    sftpkit_server *srv = sftpkit_server_new();
    sftpkit_key *key = sftpkit_key_new();
    if (log_level) { /* the library's log, to standard error */
        char setting[64];
        snprintf(setting, sizeof setting, "LogLevel=%s", log_level);
        if (sftpkit_server_config(srv, setting, NULL) ||
            sftpkit_server_config(srv, "LogDetails=time,level,module", NULL))
            return fail("--log");
    }
    for (int i = 0; i < n_settings; i++)
        if (sftpkit_server_config(srv, settings[i], NULL))
            return fail(settings[i]);
    int64_t handle;
    if (load_host_key(key, host_key_path))
        return fail("host key");
    sftpkit_key_get_handle(key, &handle);
    if (sftpkit_server_set_server_key_count(srv, 1) || sftpkit_server_set_server_key_handle(srv, 0, handle))
        return fail("host key");
    if (sftpkit_server_set_host(srv, host) || sftpkit_server_set_port(srv, port))
        return fail("address");
    if (sftpkit_server_set_base_dir(srv, real_root) || sftpkit_server_set_read_only(srv, read_only))
        return fail("root");
    sftpkit_server_set_user_count(srv, n_users);
    for (int i = 0; i < n_users; i++) {
        sftpkit_server_set_user_username(srv, i, users[i].name);
        if (users[i].password)
            sftpkit_server_set_user_password(srv, i, users[i].password);
        if (users[i].keys)
            sftpkit_server_set_user_ssh_key(srv, i, (const uint8_t *)users[i].keys, strlen(users[i].keys));
    }
    struct sigaction sa = {.sa_handler = on_signal}; /* before start: a signal at once still stops cleanly */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (sftpkit_server_start(srv))
        return fail("start");
    struct metrics_http *metrics = metrics_at ? metrics_http_start(srv, metrics_at) : NULL;
    if (metrics_at && !metrics) {
        sftpkit_server_free(srv);
        return 1;
    }

    int64_t bound;
    char *fingerprint = NULL, *algorithm = NULL;
    sftpkit_server_get_port(srv, &bound);
    sftpkit_key_get_info(key, &algorithm, NULL, &fingerprint);
    printf("sftpkit-server %s listening on %s:%lld, serving %s%s\n", sftpkit_version(), host, (long long)bound,
           real_root, read_only ? " (read-only)" : "");
    printf("host key %s %s\n", algorithm, fingerprint);
    if (metrics)
        printf("metrics on port %d (GET /metrics)\n", metrics_http_port(metrics));
    for (int i = 0; i < n_users; i++)
        printf("user %s%s%s\n", users[i].name, users[i].password ? " (password)" : "",
               users[i].keys ? " (public key)" : "");
    fflush(stdout);
    sftpkit_free(fingerprint);
    sftpkit_free(algorithm);

    while (!stop_requested)
        pause();
    printf("stopping\n");
    fflush(stdout);
    sftpkit_server_stop(srv); /* with DrainTimeout set, transfers in progress may finish first */
    metrics_http_stop(metrics);
    sftpkit_server_free(srv);
    sftpkit_key_free(key);
    for (int i = 0; i < n_users; i++)
        free(users[i].name), free(users[i].password), free(users[i].keys);
    free(users);
    free(real_root);
    return 0;
}
