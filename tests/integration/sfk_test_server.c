/* sfk-test-server: the integration tests' server. Written against the public C API only.
 *
 * Configured by argv (see usage()), it starts, prints {"ready":true,"port":N} and then one JSON
 * line per event with every parameter (flushed at once, so a test can wait for it). Commands on
 * stdin, one per line, each answered by one {"reply":...} line:
 *   list                 list_clients()
 *   pin ID               pin_client(ID) and every pinned_client_* value
 *   drop ID [forced]     drop_client(ID, forced)
 *   stop                 stop(), with the time it took in ms
 *   start                start() again
 *   metrics              the Prometheus text ("text") and the JSON snapshot ("json", a string)
 *   quit (or EOF)        free the server and exit 0 (under ASan, leaks make the exit non-zero)
 * Vetoes and verdicts: --veto-accept, --veto-auth USER, --password-verdict USER=0|1,
 * --pubkey-verdict USER=0|1 (a handler overruling the library's own verdict either way); --stop-on
 * EVENT calls stop() from inside that event's handler (once). Password change: --force-change USER
 * sets ForceChangePassword in USER's on_auth_password; --refuse-new-password PW refuses PW in
 * on_auth_password_change; --request-password-change sets ssh_settings_request_password_change. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sftpkit/sftpkit.h"

#define MAX_ITEMS 32

typedef struct {
    const char *name, *value;
} pair;

typedef struct {
    const char *stop_on; /* an event name: its handler calls stop() (once) */
    atomic_int stopped;
    int veto_accept;
    const char *veto_auth[MAX_ITEMS];
    int n_veto_auth;
    pair password_verdict[MAX_ITEMS], pubkey_verdict[MAX_ITEMS];
    int n_password_verdict, n_pubkey_verdict;
    const char *force_change[MAX_ITEMS];
    int n_force_change;
    const char *refuse_new_password;
} policy;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- output: one JSON object per line ------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 64) * 2;
        char *grown = realloc(t->buf, cap);
        if (!grown)
            abort();
        t->buf = grown, t->cap = cap;
    }
}

static void put_string(text *t, const char *s)
{
    put(t, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            put(t, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            put(t, "\\u%04x", *p);
        else
            put(t, "%c", *p);
    }
    put(t, "\"");
}

static void emit(text *t)
{
    pthread_mutex_lock(&out_lock);
    fwrite(t->buf, 1, t->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    free(t->buf);
    *t = (text){0};
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ---- events -------------------------------------------------------------------------------- */

static const char *lookup(const pair *list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i].name, name))
            return list[i].value;
    return NULL;
}

static int handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    policy *p = user;
    const char *name = sftpkit_event_name(id);
    char *username = NULL;
    int has_user = sftpkit_event_get_str(ev, "username", &username) == 0;
    /* decide first, so the printed line shows the final verdict */
    if (id == SFTPKIT_EVENT_ON_ACCEPT && p->veto_accept)
        sftpkit_event_set_int(ev, "accept", 0);
    if (id == SFTPKIT_EVENT_ON_AUTH_ATTEMPT && has_user)
        for (int i = 0; i < p->n_veto_auth; i++)
            if (!strcmp(p->veto_auth[i], username))
                sftpkit_event_set_int(ev, "accept", 0);
    const char *verdict = NULL;
    if (id == SFTPKIT_EVENT_ON_AUTH_PASSWORD && has_user)
        verdict = lookup(p->password_verdict, p->n_password_verdict, username);
    if (id == SFTPKIT_EVENT_ON_AUTH_PUBLIC_KEY && has_user)
        verdict = lookup(p->pubkey_verdict, p->n_pubkey_verdict, username);
    if (verdict)
        sftpkit_event_set_int(ev, "accept", atoi(verdict));
    if (id == SFTPKIT_EVENT_ON_AUTH_PASSWORD && has_user)
        for (int i = 0; i < p->n_force_change; i++)
            if (!strcmp(p->force_change[i], username))
                sftpkit_event_set_int(ev, "force_change_password", 1);
    if (id == SFTPKIT_EVENT_ON_AUTH_PASSWORD_CHANGE && p->refuse_new_password) {
        char *fresh = NULL;
        if (!sftpkit_event_get_str(ev, "new_password", &fresh) && !strcmp(fresh, p->refuse_new_password))
            sftpkit_event_set_int(ev, "accept", 0);
        sftpkit_free(fresh);
    }

    text t = {0};
    put(&t, "{\"event\":");
    put_string(&t, name);
    int n = sftpkit_event_param_count(id);
    for (int i = 0; i < n; i++) {
        const char *pname = NULL;
        int type = 0, byref = 0;
        if (sftpkit_event_param_info(id, i, &pname, &type, &byref))
            continue;
        put(&t, ",");
        put_string(&t, pname);
        if (type == 2) {
            char *v = NULL;
            sftpkit_event_get_str(ev, pname, &v);
            put(&t, ":");
            put_string(&t, v);
            sftpkit_free(v);
        } else {
            int64_t v = 0;
            sftpkit_event_get_int(ev, pname, &v);
            put(&t, ":%" PRId64, v);
        }
    }
    if (id == SFTPKIT_EVENT_ON_AUTH_PUBLIC_KEY) { /* key_* show the client's key during this event */
        char *fp = NULL;
        sftpkit_server_get_key_fingerprint_sha256(s, &fp);
        put(&t, ",\"key_fingerprint_sha256\":");
        put_string(&t, fp);
        sftpkit_free(fp);
    }
    if (id == SFTPKIT_EVENT_ON_DISCONNECT) { /* the connection is still pinnable here */
        int64_t cid = 0;
        char *reason = NULL;
        sftpkit_event_get_int(ev, "connection_id", &cid);
        int rc = sftpkit_server_pin_client(s, cid);
        if (!rc)
            sftpkit_server_get_pinned_client_close_reason(s, &reason);
        put(&t, ",\"pin_rc\":%d,\"close_reason\":", rc);
        put_string(&t, reason);
        sftpkit_free(reason);
    }
    put(&t, "}");
    emit(&t);
    sftpkit_free(username);
    if (p->stop_on && !strcmp(p->stop_on, name) && !atomic_exchange(&p->stopped, 1)) {
        double t0 = now_ms();
        int rc = sftpkit_server_stop(s);
        put(&t, "{\"event\":\"_stopped_in_handler\",\"in\":\"%s\",\"rc\":%d,\"ms\":%.1f}", name, rc, now_ms() - t0);
        emit(&t);
    }
    return 0;
}

/* ---- commands ------------------------------------------------------------------------------ */

static void reply_rc(const char *what, int rc, double ms)
{
    text t = {0};
    put(&t, "{\"reply\":\"%s\",\"rc\":%d", what, rc);
    if (ms >= 0)
        put(&t, ",\"ms\":%.1f", ms);
    if (rc) {
        put(&t, ",\"error\":");
        put_string(&t, sftpkit_last_error_message());
    }
    put(&t, "}");
    emit(&t);
}

static void reply_pin(sftpkit_server *s, int64_t id)
{
    int rc = sftpkit_server_pin_client(s, id);
    if (rc) {
        reply_rc("pin", rc, -1);
        return;
    }
    static const struct {
        const char *name;
        int (*get)(const sftpkit_server *, char **);
    } strs[] = {
        {"address", sftpkit_server_get_pinned_client_address},
        {"client_key_algorithm", sftpkit_server_get_pinned_client_client_key_algorithm},
        {"client_key_fingerprint", sftpkit_server_get_pinned_client_client_key_fingerprint},
        {"client_software_name", sftpkit_server_get_pinned_client_client_software_name},
        {"close_reason", sftpkit_server_get_pinned_client_close_reason},
        {"compression_algorithm_inbound", sftpkit_server_get_pinned_client_compression_algorithm_inbound},
        {"compression_algorithm_outbound", sftpkit_server_get_pinned_client_compression_algorithm_outbound},
        {"encryption_algorithm_inbound", sftpkit_server_get_pinned_client_encryption_algorithm_inbound},
        {"encryption_algorithm_outbound", sftpkit_server_get_pinned_client_encryption_algorithm_outbound},
        {"kex_algorithm", sftpkit_server_get_pinned_client_kex_algorithm},
        {"kex_lines", sftpkit_server_get_pinned_client_kex_lines},
        {"mac_algorithm_inbound", sftpkit_server_get_pinned_client_mac_algorithm_inbound},
        {"mac_algorithm_outbound", sftpkit_server_get_pinned_client_mac_algorithm_outbound},
        {"public_key_algorithm", sftpkit_server_get_pinned_client_public_key_algorithm},
        {"server_key_fingerprint", sftpkit_server_get_pinned_client_server_key_fingerprint},
    };
    static const struct {
        const char *name;
        int (*get)(const sftpkit_server *, int64_t *);
    } ints[] = {
        {"id", sftpkit_server_get_pinned_client_id},
        {"port", sftpkit_server_get_pinned_client_port},
        {"client_key_bits", sftpkit_server_get_pinned_client_client_key_bits},
        {"inbound_encryption_key_bits", sftpkit_server_get_pinned_client_inbound_encryption_key_bits},
        {"outbound_encryption_key_bits", sftpkit_server_get_pinned_client_outbound_encryption_key_bits},
        {"kex_bits", sftpkit_server_get_pinned_client_kex_bits},
        {"server_key_bits", sftpkit_server_get_pinned_client_server_key_bits},
        {"total_bytes_received", sftpkit_server_get_pinned_client_total_bytes_received},
        {"total_bytes_sent", sftpkit_server_get_pinned_client_total_bytes_sent},
        {"version", sftpkit_server_get_pinned_client_version},
    };
    text t = {0};
    put(&t, "{\"reply\":\"pin\",\"rc\":0,\"pinned\":{");
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        char *v = NULL;
        strs[i].get(s, &v);
        put(&t, "%s\"%s\":", i ? "," : "", strs[i].name);
        put_string(&t, v);
        sftpkit_free(v);
    }
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        int64_t v = 0;
        ints[i].get(s, &v);
        put(&t, ",\"%s\":%" PRId64, ints[i].name, v);
    }
    put(&t, "}}");
    emit(&t);
}

static void command_loop(sftpkit_server *s)
{
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", arg2[32] = "";
        long long id = 0;
        int n = sscanf(line, "%31s %lld %31s", cmd, &id, arg2);
        if (n < 1)
            continue;
        if (!strcmp(cmd, "quit"))
            break;
        if (!strcmp(cmd, "list")) {
            char *out = NULL;
            int rc = sftpkit_server_list_clients(s, &out);
            text t = {0};
            put(&t, "{\"reply\":\"list\",\"rc\":%d,\"text\":", rc);
            put_string(&t, out);
            put(&t, "}");
            emit(&t);
            sftpkit_free(out);
        } else if (!strcmp(cmd, "pin") && n >= 2) {
            reply_pin(s, id);
        } else if (!strcmp(cmd, "drop") && n >= 2) {
            reply_rc("drop", sftpkit_server_drop_client(s, id, !strcmp(arg2, "forced")), -1);
        } else if (!strcmp(cmd, "stop")) {
            double t0 = now_ms();
            int rc = sftpkit_server_stop(s);
            reply_rc("stop", rc, now_ms() - t0);
        } else if (!strcmp(cmd, "metrics")) {
            char *prom = NULL, *json = NULL;
            int rc = sftpkit_server_metrics_prometheus(s, &prom);
            if (!rc)
                rc = sftpkit_server_metrics_json(s, &json);
            text t = {0};
            put(&t, "{\"reply\":\"metrics\",\"rc\":%d,\"text\":", rc);
            put_string(&t, prom);
            put(&t, ",\"json\":");
            put_string(&t, json);
            put(&t, "}");
            emit(&t);
            sftpkit_free(prom), sftpkit_free(json);
        } else if (!strcmp(cmd, "start")) {
            reply_rc("start", sftpkit_server_start(s), -1);
        } else {
            text t = {0};
            put(&t, "{\"reply\":\"unknown\",\"rc\":-1,\"line\":");
            line[strcspn(line, "\n")] = '\0';
            put_string(&t, line);
            put(&t, "}");
            emit(&t);
        }
    }
}

/* ---- configuration ------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: sfk-test-server --root DIR [--host ADDR] [--port N] --host-key FILE[:PASSPHRASE]...\n"
                    "  [--user NAME:PASSWORD]... [--user-key NAME:PUBFILE]... [--user-base NAME:DIR]...\n"
                    "  [--user-speed NAME:IN:OUT]... [--otp NAME:hotp|totp:HASH:DIGITS:VALUE:SECRET]...\n"
                    "  [--auth-types N] [--config SETTING]... [--ciphers L] [--kex L] [--macs L] [--pubkey-algs L]\n"
                    "  [--compression L] [--ssh-compression-level N] [--handshake-timeout S] [--socket-timeout S] "
                    "[--speed-in B] [--speed-out B]\n"
                    "  [--ipv6] [--force-compression] [--ssh-force-compression] [--use-utf8] [--software-name NAME] "
                    "[--veto-accept] "
                    "[--veto-auth USER]...\n"
                    "  [--password-verdict USER=0|1]... [--pubkey-verdict USER=0|1]... [--stop-on EVENT]\n"
                    "  [--force-change USER]... [--refuse-new-password PW] [--request-password-change]\n");
}

static int fail(const char *what)
{
    fprintf(stderr, "sfk-test-server: %s: %s (%d)\n", what, sftpkit_last_error_message(), sftpkit_last_error_code());
    return 1;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* The user named name (added at the end of the user list if new). */
static int64_t user_index(sftpkit_server *s, const char *name, size_t len)
{
    int64_t count = 0;
    sftpkit_server_get_user_count(s, &count);
    for (int64_t i = 0; i < count; i++) {
        char *u = NULL;
        sftpkit_server_get_user_username(s, i, &u);
        int same = u && strlen(u) == len && !strncmp(u, name, len);
        sftpkit_free(u);
        if (same)
            return i;
    }
    char *copy = strndup(name, len);
    sftpkit_server_set_user_count(s, count + 1);
    sftpkit_server_set_user_username(s, count, copy);
    free(copy);
    return count;
}

/* Splits "a:b:c" in place into at most max fields. */
static int split(char *v, char sep, char **fields, int max)
{
    int n = 0;
    fields[n++] = v;
    for (char *p = v; *p && n < max; p++)
        if (*p == sep) {
            *p = '\0';
            fields[n++] = p + 1;
        }
    return n;
}

static int configure(sftpkit_server *s, policy *p, sftpkit_key **keys, int *n_keys, int argc, char **argv)
{
    int64_t host_keys = 0;
    sftpkit_server_set_host(s, "127.0.0.1");
    sftpkit_server_set_port(s, 0);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--veto-accept")) {
            p->veto_accept = 1;
            continue;
        }
        if (!strcmp(a, "--force-compression")) {
            if (sftpkit_server_set_force_compression(s, 1))
                return fail(a);
            continue;
        }
        if (!strcmp(a, "--ssh-force-compression")) { /* ssh_settings_force_compression, the same effect */
            if (sftpkit_server_set_ssh_settings_force_compression(s, 1))
                return fail(a);
            continue;
        }
        if (!strcmp(a, "--use-utf8")) {
            if (sftpkit_server_set_use_utf8(s, 1))
                return fail(a);
            continue;
        }
        if (!strcmp(a, "--request-password-change")) {
            if (sftpkit_server_set_ssh_settings_request_password_change(s, 1))
                return fail(a);
            continue;
        }
        if (!strcmp(a, "--ipv6")) {
            if (sftpkit_server_set_socket_use_ipv6(s, 1))
                return fail(a);
            continue;
        }
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        char *v = argv[++i], *f[6];
        int rc = 0;
        if (!strcmp(a, "--root"))
            rc = sftpkit_server_set_base_dir(s, v);
        else if (!strcmp(a, "--host"))
            rc = sftpkit_server_set_host(s, v);
        else if (!strcmp(a, "--port"))
            rc = sftpkit_server_set_port(s, atoi(v));
        else if (!strcmp(a, "--host-key") && *n_keys < MAX_ITEMS) {
            int nf = split(v, ':', f, 2);
            sftpkit_key *k = sftpkit_key_new();
            int64_t handle = 0;
            keys[(*n_keys)++] = k;
            rc = sftpkit_key_import_file(k, f[0], nf > 1 ? f[1] : NULL);
            if (!rc)
                rc = sftpkit_key_get_handle(k, &handle);
            if (!rc)
                rc = sftpkit_server_set_server_key_count(s, host_keys + 1);
            if (!rc)
                rc = sftpkit_server_set_server_key_handle(s, host_keys++, handle);
        } else if (!strcmp(a, "--user")) {
            if (split(v, ':', f, 2) != 2)
                return usage(), 2;
            rc = sftpkit_server_set_user_password(s, user_index(s, f[0], strlen(f[0])), f[1]);
        } else if (!strcmp(a, "--user-key")) {
            if (split(v, ':', f, 2) != 2)
                return usage(), 2;
            char *lines = read_all(f[1]);
            if (!lines) {
                fprintf(stderr, "sfk-test-server: cannot read %s\n", f[1]);
                return 2;
            }
            int64_t u = user_index(s, f[0], strlen(f[0]));
            uint8_t *old = NULL;
            size_t old_len = 0;
            sftpkit_server_get_user_ssh_key(s, u, &old, &old_len);
            size_t len = old_len + strlen(lines) + 2;
            char *all = calloc(1, len);
            if (old_len)
                memcpy(all, old, old_len), all[old_len] = '\n';
            strcat(all, lines);
            rc = sftpkit_server_set_user_ssh_key(s, u, (const uint8_t *)all, strlen(all));
            free(all), free(lines), sftpkit_free(old);
        } else if (!strcmp(a, "--user-base")) {
            if (split(v, ':', f, 2) != 2)
                return usage(), 2;
            rc = sftpkit_server_set_user_base_path(s, user_index(s, f[0], strlen(f[0])), f[1]);
        } else if (!strcmp(a, "--user-speed")) {
            if (split(v, ':', f, 3) != 3)
                return usage(), 2;
            int64_t u = user_index(s, f[0], strlen(f[0]));
            rc = sftpkit_server_set_user_incoming_speed_limit(s, u, atoll(f[1]));
            if (!rc)
                rc = sftpkit_server_set_user_outgoing_speed_limit(s, u, atoll(f[2]));
        } else if (!strcmp(a, "--otp")) {
            if (split(v, ':', f, 6) != 6)
                return usage(), 2;
            int64_t u = user_index(s, f[0], strlen(f[0]));
            rc = sftpkit_server_set_user_otp_algorithm(s, u, !strcmp(f[1], "totp"));
            if (!rc)
                rc = sftpkit_server_set_user_hash_algorithm(s, u, f[2]);
            if (!rc)
                rc = sftpkit_server_set_user_password_len(s, u, atoll(f[3]));
            if (!rc)
                rc = sftpkit_server_set_user_otp_value(s, u, atoll(f[4]));
            if (!rc)
                rc = sftpkit_server_set_user_shared_secret(s, u, (const uint8_t *)f[5], strlen(f[5]));
        } else if (!strcmp(a, "--auth-types"))
            rc = sftpkit_server_set_auth_types(s, atoll(v));
        else if (!strcmp(a, "--config"))
            rc = sftpkit_server_config(s, v, NULL);
        else if (!strcmp(a, "--ciphers"))
            rc = sftpkit_server_set_ssh_settings_encryption_algorithms(s, v);
        else if (!strcmp(a, "--kex"))
            rc = sftpkit_server_set_ssh_settings_kex_algorithms(s, v);
        else if (!strcmp(a, "--macs"))
            rc = sftpkit_server_set_ssh_settings_mac_algorithms(s, v);
        else if (!strcmp(a, "--pubkey-algs"))
            rc = sftpkit_server_set_ssh_settings_public_key_algorithms(s, v);
        else if (!strcmp(a, "--compression"))
            rc = sftpkit_server_set_ssh_settings_compression_algorithms(s, v);
        else if (!strcmp(a, "--ssh-compression-level"))
            rc = sftpkit_server_set_ssh_settings_compression_level(s, atoll(v));
        else if (!strcmp(a, "--handshake-timeout"))
            rc = sftpkit_server_set_ssh_settings_handshake_timeout(s, atoll(v));
        else if (!strcmp(a, "--socket-timeout"))
            rc = sftpkit_server_set_socket_timeout(s, atoll(v));
        else if (!strcmp(a, "--speed-in"))
            rc = sftpkit_server_set_socket_incoming_speed_limit(s, atoll(v));
        else if (!strcmp(a, "--speed-out"))
            rc = sftpkit_server_set_socket_outgoing_speed_limit(s, atoll(v));
        else if (!strcmp(a, "--software-name"))
            rc = sftpkit_server_set_ssh_settings_software_name(s, v);
        else if (!strcmp(a, "--stop-on"))
            p->stop_on = v;
        else if (!strcmp(a, "--force-change") && p->n_force_change < MAX_ITEMS)
            p->force_change[p->n_force_change++] = v;
        else if (!strcmp(a, "--refuse-new-password"))
            p->refuse_new_password = v;
        else if (!strcmp(a, "--veto-auth") && p->n_veto_auth < MAX_ITEMS)
            p->veto_auth[p->n_veto_auth++] = v;
        else if ((!strcmp(a, "--password-verdict") || !strcmp(a, "--pubkey-verdict")) && strchr(v, '=')) {
            *strchr(v, '=') = '\0';
            pair item = {v, v + strlen(v) + 1};
            if (a[3] == 'a' && p->n_password_verdict < MAX_ITEMS)
                p->password_verdict[p->n_password_verdict++] = item;
            else if (a[3] == 'u' && p->n_pubkey_verdict < MAX_ITEMS)
                p->pubkey_verdict[p->n_pubkey_verdict++] = item;
        } else {
            usage();
            return 2;
        }
        if (rc)
            return fail(a);
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* emit() flushes each line */
    sftpkit_server *s = sftpkit_server_new();
    policy p = {0};
    sftpkit_key *keys[MAX_ITEMS];
    int n_keys = 0;
    int rc = configure(s, &p, keys, &n_keys, argc, argv);
    if (!rc && sftpkit_server_set_event_handler(s, handler, &p, NULL))
        rc = fail("set_event_handler");
    if (!rc && sftpkit_server_start(s))
        rc = fail("start");
    if (!rc) {
        int64_t port = 0;
        sftpkit_server_get_port(s, &port);
        text t = {0};
        put(&t, "{\"ready\":true,\"port\":%" PRId64 "}", port);
        emit(&t);
        command_loop(s);
    }
    sftpkit_server_free(s); /* stops first */
    for (int i = 0; i < n_keys; i++)
        sftpkit_key_free(keys[i]);
    return rc;
}
