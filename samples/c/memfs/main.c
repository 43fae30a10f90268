/* sftpkit-memfs: an SFTP server whose files live only in memory (see memfs.h).
 *
 *   sftpkit-memfs [--host 127.0.0.1] [--port 2223] [--user NAME:PASSWORD]... [--host-key FILE]
 *                 [--latency-ms N [--deferred]] [--workers N] [--seed PATH:MIB] [--max-file-mib N]
 *
 * Without --user it accepts demo / demo. Without --host-key it generates an Ed25519 host key
 * for this run. --latency-ms makes every read and write take N ms, like a remote back-end
 * (--deferred: completed later from a timer thread instead of a sleeping handler); --workers sets
 * config WorkerThreads; --seed adds a file of MIB mebibytes whose byte i is (i * 2654435761) >> 13
 * (low 8 bits), so a client can check a download without the server's copy; --max-file-mib raises
 * the largest file a client may make (and a seed may be) above memfs's 16 MiB. Stops on SIGINT /
 * SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sftpkit/sftpkit.h>

#include "memfs.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int fail(const char *what)
{
    fprintf(stderr, "sftpkit-memfs: %s: %s\n", what, sftpkit_last_error_message());
    return 1;
}

static int add_user(sftpkit_server *s, const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (!colon) {
        fprintf(stderr, "sftpkit-memfs: --user wants NAME:PASSWORD, got \"%s\"\n", spec);
        return -1;
    }
    int64_t n = 0;
    sftpkit_server_get_user_count(s, &n);
    char *name = strndup(spec, (size_t)(colon - spec));
    int rc = sftpkit_server_set_user_count(s, n + 1) || sftpkit_server_set_user_username(s, n, name) ||
             sftpkit_server_set_user_password(s, n, colon + 1);
    free(name);
    return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *host_key = NULL;
    int64_t port = 2223;
    sftpkit_server *s = sftpkit_server_new();
    if (!s)
        return fail("server");
    int users = 0, latency = 0, deferred = 0;
    const char *seeds[8];
    int nseeds = 0;
    unsigned long long max_file_mib = 0; /* 0: memfs's default (16 MiB) */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--host") && val)
            host = val, i++;
        else if (!strcmp(arg, "--port") && val)
            port = strtoll(val, NULL, 10), i++;
        else if (!strcmp(arg, "--host-key") && val)
            host_key = val, i++;
        else if (!strcmp(arg, "--user") && val) {
            if (add_user(s, val) != 0)
                return fail("--user");
            users++, i++;
        } else if (!strcmp(arg, "--latency-ms") && val) {
            latency = atoi(val), i++;
        } else if (!strcmp(arg, "--deferred")) {
            deferred = 1;
        } else if (!strcmp(arg, "--workers") && val) {
            char setting[64], *out = NULL;
            snprintf(setting, sizeof setting, "WorkerThreads=%s", val);
            if (sftpkit_server_config(s, setting, &out) != 0)
                return fail("--workers");
            sftpkit_free(out), i++;
        } else if (!strcmp(arg, "--max-file-mib") && val) {
            max_file_mib = strtoull(val, NULL, 10), i++;
            if (max_file_mib == 0 || max_file_mib > 65536)
                return fail("--max-file-mib (1 to 65536)");
        } else if (!strcmp(arg, "--seed") && val && strchr(val, ':') && nseeds < 8) {
            seeds[nseeds++] = val, i++;
        } else {
            fprintf(stderr,
                    "usage: %s [--host H] [--port P] [--user NAME:PASSWORD]... [--host-key FILE] [--latency-ms N "
                    "[--deferred]] [--workers N] [--seed PATH:MIB] [--max-file-mib N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!users && add_user(s, "demo:demo") != 0)
        return fail("user");
    sftpkit_key *key = sftpkit_key_new();
    int rc = host_key ? sftpkit_key_import_file(key, host_key, "") : sftpkit_key_generate(key, "ssh-ed25519", 0);
    if (rc)
        return fail("host key");
    int64_t handle = 0;
    if (sftpkit_key_get_handle(key, &handle) || sftpkit_server_set_server_key_count(s, 1) ||
        sftpkit_server_set_server_key_handle(s, 0, handle))
        return fail("host key");
    sftpkit_key_free(key);
    if (sftpkit_server_set_host(s, host) || sftpkit_server_set_port(s, port))
        return fail("address");
    /* No base_dir: there is no local file system; every file operation goes to memfs. */
    memfs *fs = memfs_new();
    if (!fs || (max_file_mib && memfs_set_max_file_size(fs, (size_t)max_file_mib << 20) != 0))
        return fail("memfs");
    const char *hello = "Hello from a file that only exists in memory.\n";
    memfs_mkdir(fs, "/pub");
    memfs_put(fs, "/pub/README.txt", hello, strlen(hello));
    for (int i = 0; i < nseeds; i++) {
        const char *colon = strrchr(seeds[i], ':');
        char *path = strndup(seeds[i], (size_t)(colon - seeds[i]));
        size_t len = (size_t)strtoull(colon + 1, NULL, 10) << 20;
        unsigned char *data = malloc(len ? len : 1);
        for (size_t k = 0; data && k < len; k++)
            data[k] = (unsigned char)((k * 2654435761u) >> 13);
        if (!path || !data || memfs_put(fs, path, data, len) != 0)
            return fail("--seed");
        free(path);
        free(data);
    }
    if (memfs_set_latency(fs, latency, deferred) != 0)
        return fail("--latency-ms");
    if (memfs_install(s, fs) != 0)
        return fail("event handler");
    if (sftpkit_server_start(s) != 0)
        return fail("start");
    printf("sftpkit-memfs listening on %s:%lld (in-memory files; Ctrl-C stops)\n", host, (long long)port);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop_requested)
        sleep(1); /* a signal cuts the sleep short */
    sftpkit_server_stop(s);
    sftpkit_server_free(s); /* frees memfs too */
    return 0;
}
