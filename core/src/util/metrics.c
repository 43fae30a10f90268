/* Counters and fixed-bucket histograms (see metrics.h), and their two renderings: Prometheus text
 * exposition format 0.0.4 and a JSON snapshot with the same numbers. */
#include "util/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/errors.h"
#include "api/server.h"

/* Upper bounds in microseconds: 100 us .. 10 s, roughly 1-2.5-5 per decade; then +Inf. */
static const int64_t BOUNDS_US[] = {100,   250,    500,    1000,   2500,    5000,    10000,   25000,
                                    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define NBOUNDS ((int)(sizeof BOUNDS_US / sizeof *BOUNDS_US))

typedef struct {
    atomic_uint_fast64_t bucket[NBOUNDS + 1]; /* not cumulative; the last is +Inf */
    atomic_uint_fast64_t count, sum_us;
} histogram;

/* Request types: SSH_FXP_INIT(1) .. SYMLINK(20) by number, EXTENDED(200) in slot 21, 0 for any
 * other number (which the engine answers OP_UNSUPPORTED). */
#define NTYPES 22
static const char *const TYPE_NAMES[NTYPES] = {"unknown", "init",     "version", "open",    "close",    "read",
                                               "write",   "lstat",    "fstat",   "setstat", "fsetstat", "opendir",
                                               "readdir", "remove",   "mkdir",   "rmdir",   "realpath", "stat",
                                               "rename",  "readlink", "symlink", "extended"};
/* v3 status codes 0..8; 9: anything else */
#define NSTATUS 10
static const char *const STATUS_NAMES[NSTATUS] = {
    "ok",          "eof",           "no_such_file",    "permission_denied", "failure",
    "bad_message", "no_connection", "connection_lost", "op_unsupported",    "other"};
static const char *const REFUSED_NAMES[SFK_REFUSED_COUNT] = {"on_accept", "proxy_protocol", "stopping", "admission"};
static const char *const METHOD_NAMES[SFK_LOGIN_METHODS] = {"password", "publickey", "keyboard-interactive"};
static const char *const RESULT_NAMES[SFK_LOGIN_RESULTS] = {"success", "partial", "failure"};

#define NADMISSION 32

struct sfk_metrics {
    atomic_uint_fast64_t accepted, closed, refused[SFK_REFUSED_COUNT];
    atomic_uint_fast64_t logins[SFK_LOGIN_METHODS][SFK_LOGIN_RESULTS];
    atomic_uint_fast64_t bytes_in, bytes_out;
    atomic_uint_fast64_t requests[NTYPES][NSTATUS];
    histogram request_latency[NTYPES];
    histogram handler_latency;
    _Atomic(const char *) admission_name[NADMISSION];
    atomic_uint_fast64_t admission[NADMISSION], admission_other;
};

#define ADD(field, n) atomic_fetch_add_explicit(&(field), (uint_fast64_t)(n), memory_order_relaxed)
#define GET(field) ((uint64_t)atomic_load_explicit(&(field), memory_order_relaxed))

struct sfk_metrics *sfk_metrics_new(void)
{
    return calloc(1, sizeof(struct sfk_metrics)); /* all-zero bits are valid atomics on Linux */
}

void sfk_metrics_free(struct sfk_metrics *m)
{
    free(m);
}

int64_t sfk_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct sfk_metrics *of(sftpkit_server *s)
{
    return s ? s->metrics : NULL;
}

static void observe(histogram *h, int64_t us)
{
    if (us < 0)
        us = 0;
    int i = 0;
    while (i < NBOUNDS && us > BOUNDS_US[i])
        i++;
    ADD(h->bucket[i], 1);
    ADD(h->count, 1);
    ADD(h->sum_us, us);
}

void sfk_metrics_connection_accepted(sftpkit_server *s)
{
    struct sfk_metrics *m = of(s);
    if (m)
        ADD(m->accepted, 1);
}

void sfk_metrics_connection_refused(sftpkit_server *s, sfk_refused_reason why)
{
    struct sfk_metrics *m = of(s);
    if (m && why >= 0 && why < SFK_REFUSED_COUNT)
        ADD(m->refused[why], 1);
}

void sfk_metrics_connection_closed(sftpkit_server *s)
{
    struct sfk_metrics *m = of(s);
    if (m)
        ADD(m->closed, 1);
}

void sfk_metrics_login(sftpkit_server *s, sfk_login_method method, sfk_login_result result)
{
    struct sfk_metrics *m = of(s);
    if (m && method >= 0 && method < SFK_LOGIN_METHODS && result >= 0 && result < SFK_LOGIN_RESULTS)
        ADD(m->logins[method][result], 1);
}

void sfk_metrics_bytes(sftpkit_server *s, uint64_t in, uint64_t out)
{
    struct sfk_metrics *m = of(s);
    if (!m)
        return;
    if (in)
        ADD(m->bytes_in, in);
    if (out)
        ADD(m->bytes_out, out);
}

void sfk_metrics_request(sftpkit_server *s, int type, int status, int64_t micros)
{
    struct sfk_metrics *m = of(s);
    if (!m)
        return;
    int t = type >= 1 && type <= 20 ? type : type == 200 ? 21 : 0;
    int st = status >= 0 && status < NSTATUS - 1 ? status : NSTATUS - 1;
    ADD(m->requests[t][st], 1);
    observe(&m->request_latency[t], micros);
}

void sfk_metrics_handler(sftpkit_server *s, int64_t micros)
{
    struct sfk_metrics *m = of(s);
    if (m)
        observe(&m->handler_latency, micros);
}

void sfk_metrics_admission(sftpkit_server *s, const char *action)
{
    struct sfk_metrics *m = of(s);
    if (!m || !action)
        return;
    for (int i = 0; i < NADMISSION; i++) {
        const char *name = atomic_load_explicit(&m->admission_name[i], memory_order_acquire);
        if (!name) {
            const char *expected = NULL;
            if (atomic_compare_exchange_strong(&m->admission_name[i], &expected, action))
                name = action;
            else
                name = expected; /* another thread claimed the slot first: maybe for this name */
        }
        if (name == action || !strcmp(name, action)) {
            ADD(m->admission[i], 1);
            return;
        }
    }
    ADD(m->admission_other, 1);
}

/* ---- rendering ------------------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if (t->data && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 8192;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->oom = 1;
            return;
        }
        t->data = grown, t->cap = cap;
    }
}

static void seconds(char *out, size_t len, int64_t us)
{
    snprintf(out, len, "%" PRId64 ".%06" PRId64, us / 1000000, us % 1000000);
    /* trim trailing zeros ("0.000100" -> "0.0001", "1.000000" -> "1") */
    char *end = out + strlen(out) - 1;
    while (*end == '0')
        *end-- = '\0';
    if (*end == '.')
        *end = '\0';
}

static void prom_histogram(text *t, const char *name, const char *labels, const histogram *h)
{
    uint64_t cum = 0;
    char le[32];
    const char *sep = *labels ? "," : "";
    for (int i = 0; i < NBOUNDS; i++) {
        cum += GET(h->bucket[i]);
        seconds(le, sizeof le, BOUNDS_US[i]);
        put(t, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", name, labels, sep, le, cum);
    }
    cum += GET(h->bucket[NBOUNDS]);
    char sum[32];
    seconds(sum, sizeof sum, (int64_t)GET(h->sum_us));
    put(t, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, cum);
    put(t, "%s_sum%s%s%s %s\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", *sum ? sum : "0");
    put(t, "%s_count%s%s%s %" PRIu64 "\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", GET(h->count));
}

static void header(text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static char *render_prometheus(struct sfk_metrics *m)
{
    text t = {0};
    header(&t, "sftpkit_connections_accepted_total", "counter",
           "TCP connections accepted (after on_accept and any PROXY header).");
    put(&t, "sftpkit_connections_accepted_total %" PRIu64 "\n", GET(m->accepted));
    header(&t, "sftpkit_connections_refused_total", "counter", "Connections closed before the SSH handshake.");
    for (int i = 0; i < SFK_REFUSED_COUNT; i++)
        put(&t, "sftpkit_connections_refused_total{reason=\"%s\"} %" PRIu64 "\n", REFUSED_NAMES[i], GET(m->refused[i]));
    header(&t, "sftpkit_connections_active", "gauge", "Accepted connections that have not ended yet.");
    uint64_t acc = GET(m->accepted), closed = GET(m->closed);
    put(&t, "sftpkit_connections_active %" PRIu64 "\n", acc > closed ? acc - closed : 0);
    header(&t, "sftpkit_logins_total", "counter", "Authentication attempts by method and result.");
    for (int i = 0; i < SFK_LOGIN_METHODS; i++)
        for (int j = 0; j < SFK_LOGIN_RESULTS; j++)
            put(&t, "sftpkit_logins_total{method=\"%s\",result=\"%s\"} %" PRIu64 "\n", METHOD_NAMES[i], RESULT_NAMES[j],
                GET(m->logins[i][j]));
    header(&t, "sftpkit_bytes_received_total", "counter", "SFTP channel bytes received from clients.");
    put(&t, "sftpkit_bytes_received_total %" PRIu64 "\n", GET(m->bytes_in));
    header(&t, "sftpkit_bytes_sent_total", "counter", "SFTP channel bytes sent to clients.");
    put(&t, "sftpkit_bytes_sent_total %" PRIu64 "\n", GET(m->bytes_out));
    header(&t, "sftpkit_requests_total", "counter", "SFTP requests by type and reply status (seen ones only).");
    for (int i = 0; i < NTYPES; i++)
        for (int j = 0; j < NSTATUS; j++)
            if (GET(m->requests[i][j]))
                put(&t, "sftpkit_requests_total{type=\"%s\",status=\"%s\"} %" PRIu64 "\n", TYPE_NAMES[i],
                    STATUS_NAMES[j], GET(m->requests[i][j]));
    header(&t, "sftpkit_request_duration_seconds", "histogram",
           "Time the engine spent on one SFTP request, event handlers included (seen types only).");
    for (int i = 0; i < NTYPES; i++)
        if (GET(m->request_latency[i].count)) {
            char labels[48];
            snprintf(labels, sizeof labels, "type=\"%s\"", TYPE_NAMES[i]);
            prom_histogram(&t, "sftpkit_request_duration_seconds", labels, &m->request_latency[i]);
        }
    header(&t, "sftpkit_handler_duration_seconds", "histogram", "Time the application's event handler took.");
    prom_histogram(&t, "sftpkit_handler_duration_seconds", "", &m->handler_latency);
    header(&t, "sftpkit_admission_actions_total", "counter", "Admission-control actions (limits, penalties).");
    for (int i = 0; i < NADMISSION; i++) {
        const char *name = atomic_load_explicit(&m->admission_name[i], memory_order_acquire);
        if (name)
            put(&t, "sftpkit_admission_actions_total{action=\"%s\"} %" PRIu64 "\n", name, GET(m->admission[i]));
    }
    if (GET(m->admission_other))
        put(&t, "sftpkit_admission_actions_total{action=\"other\"} %" PRIu64 "\n", GET(m->admission_other));
    if (t.oom) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

static void json_histogram(text *t, const histogram *h)
{
    put(t, "{\"count\":%" PRIu64 ",\"sum_us\":%" PRIu64 ",\"buckets_us\":{", GET(h->count), GET(h->sum_us));
    uint64_t cum = 0;
    for (int i = 0; i < NBOUNDS; i++) {
        cum += GET(h->bucket[i]);
        put(t, "\"%" PRId64 "\":%" PRIu64 ",", BOUNDS_US[i], cum);
    }
    put(t, "\"inf\":%" PRIu64 "}}", cum + GET(h->bucket[NBOUNDS]));
}

static char *render_json(struct sfk_metrics *m)
{
    text t = {0};
    uint64_t acc = GET(m->accepted), closed = GET(m->closed);
    put(&t, "{\"connections_accepted\":%" PRIu64 ",\"connections_active\":%" PRIu64 ",\"connections_refused\":{", acc,
        acc > closed ? acc - closed : 0);
    for (int i = 0; i < SFK_REFUSED_COUNT; i++)
        put(&t, "%s\"%s\":%" PRIu64, i ? "," : "", REFUSED_NAMES[i], GET(m->refused[i]));
    put(&t, "},\"logins\":{");
    for (int i = 0; i < SFK_LOGIN_METHODS; i++) {
        put(&t, "%s\"%s\":{", i ? "," : "", METHOD_NAMES[i]);
        for (int j = 0; j < SFK_LOGIN_RESULTS; j++)
            put(&t, "%s\"%s\":%" PRIu64, j ? "," : "", RESULT_NAMES[j], GET(m->logins[i][j]));
        put(&t, "}");
    }
    put(&t, "},\"bytes_received\":%" PRIu64 ",\"bytes_sent\":%" PRIu64 ",\"requests\":{", GET(m->bytes_in),
        GET(m->bytes_out));
    int first = 1;
    for (int i = 0; i < NTYPES; i++) {
        if (!GET(m->request_latency[i].count))
            continue;
        put(&t, "%s\"%s\":{\"status\":{", first ? "" : ",", TYPE_NAMES[i]);
        first = 0;
        int f2 = 1;
        for (int j = 0; j < NSTATUS; j++)
            if (GET(m->requests[i][j])) {
                put(&t, "%s\"%s\":%" PRIu64, f2 ? "" : ",", STATUS_NAMES[j], GET(m->requests[i][j]));
                f2 = 0;
            }
        put(&t, "},\"latency\":");
        json_histogram(&t, &m->request_latency[i]);
        put(&t, "}");
    }
    put(&t, "},\"handler_latency\":");
    json_histogram(&t, &m->handler_latency);
    put(&t, ",\"admission_actions\":{");
    first = 1;
    for (int i = 0; i < NADMISSION; i++) {
        const char *name = atomic_load_explicit(&m->admission_name[i], memory_order_acquire);
        if (name) {
            put(&t, "%s\"%s\":%" PRIu64, first ? "" : ",", name, GET(m->admission[i]));
            first = 0;
        }
    }
    if (GET(m->admission_other))
        put(&t, "%s\"other\":%" PRIu64, first ? "" : ",", GET(m->admission_other));
    put(&t, "}}");
    if (t.oom) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

static int metrics_out(sftpkit_server *s, char **out, char *(*render)(struct sfk_metrics *), const char *what)
{
    if (!s || !out)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL %s", what, s ? "out pointer" : "server");
    if (!s->metrics)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "%s: no metrics (out of memory at creation)", what);
    char *text = render(s->metrics);
    if (!text)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    *out = text; /* malloc'd: sftpkit_free is free() */
    return sfk_ok();
}

SFTPKIT_API int sftpkit_server_metrics_prometheus(sftpkit_server *s, char **out)
{
    return metrics_out(s, out, render_prometheus, "metrics_prometheus");
}

SFTPKIT_API int sftpkit_server_metrics_json(sftpkit_server *s, char **out)
{
    return metrics_out(s, out, render_json, "metrics_json");
}
