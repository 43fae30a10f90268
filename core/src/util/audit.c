/* Audit records as JSON lines (see audit.h). The file is written under a mutex of its own, one
 * write() per record (O_APPEND, so a record is never interleaved with another even if two servers
 * share the file); the event is fired after the mutex is released, since the handler is user
 * code. Rotation renames F.(n-1) -> F.n ... F -> F.1 before the record that would pass the size. */
#include "util/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/config.h"
#include "api/errors.h"
#include "api/events_gen.h"
#include "api/server.h"
#include "util/log.h"

struct sfk_audit {
    pthread_mutex_t lock; /* guards the file fields */
    atomic_int enabled;   /* file or events */
    atomic_int events;
    char *path;
    int fd;
    int64_t size, max_size;
    int max_files;
};

static const char *const STATUS_NAMES[] = {
    "ok",          "eof",           "no_such_file",    "permission_denied", "failure",
    "bad_message", "no_connection", "connection_lost", "op_unsupported"};

const char *sfk_audit_status_name(int code)
{
    return code >= 0 && code < (int)(sizeof STATUS_NAMES / sizeof *STATUS_NAMES) ? STATUS_NAMES[code] : "other";
}

int sfk_audit_enabled(sftpkit_server *s)
{
    return s && s->audit && atomic_load_explicit(&s->audit->enabled, memory_order_relaxed);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 256) * 2;
        char *grown = realloc(b->p, cap);
        if (!grown)
            return;
        b->p = grown, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void addf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_seq(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 && p[0] < 0xE0 ? 2 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* A JSON string; a byte that is not part of valid UTF-8 is written as \u00XX (its Latin-1
 * reading) so the line stays valid JSON whatever bytes a client put in a file name. */
static void add_str(buf *b, const char *s)
{
    add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        size_t n = utf8_seq(p);
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            add(b, esc, 2);
            p++;
        } else if (*p < 0x20 || n == 0) {
            addf(b, "\\u%04x", *p);
            p++;
        } else {
            add(b, (const char *)p, n);
            p += n;
        }
    }
    add(b, "\"", 1);
}

static void add_time(buf *b)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char text[40];
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    addf(b, "{\"time\":\"%s.%03ldZ\"", text, ts.tv_nsec / 1000000);
}

static char *encode(const sfk_audit_record *r)
{
    buf b = {0};
    add_time(&b);
    addf(&b, ",\"connection_id\":%" PRId64 ",\"user\":", r->connection_id);
    add_str(&b, r->user);
    add(&b, ",\"address\":", 11);
    add_str(&b, r->address);
    addf(&b, ",\"port\":%d,\"operation\":", r->port);
    add_str(&b, r->operation);
    if (r->method) {
        add(&b, ",\"method\":", 10);
        add_str(&b, r->method);
    }
    if (r->path) {
        add(&b, ",\"path\":", 8);
        add_str(&b, r->path);
    }
    if (r->path2) {
        add(&b, ",\"target\":", 10);
        add_str(&b, r->path2);
    }
    if (r->bytes_read >= 0)
        addf(&b, ",\"bytes_read\":%" PRId64, r->bytes_read);
    if (r->bytes_written >= 0)
        addf(&b, ",\"bytes_written\":%" PRId64, r->bytes_written);
    add(&b, ",\"status\":", 10);
    add_str(&b, r->status ? r->status : "ok");
    if (r->aborted)
        add(&b, ",\"aborted\":true", 15);
    add(&b, "}", 1);
    return b.p;
}

/* ---- the file ------------------------------------------------------------------------------- */

static void rotate_locked(struct sfk_audit *a)
{
    close(a->fd);
    a->fd = -1;
    if (a->max_files > 0) {
        size_t n = strlen(a->path) + 16;
        char *from = malloc(n), *to = malloc(n);
        if (from && to) {
            for (int i = a->max_files - 1; i >= 1; i--) {
                snprintf(from, n, "%s.%d", a->path, i);
                snprintf(to, n, "%s.%d", a->path, i + 1);
                rename(from, to); /* a missing one is fine */
            }
            snprintf(to, n, "%s.1", a->path);
            rename(a->path, to);
        }
        free(from), free(to);
        a->fd = open(a->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    } else {
        a->fd = open(a->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    }
    a->size = 0;
}

static void write_locked(struct sfk_audit *a, const char *line, size_t len)
{
    if (a->fd < 0)
        return;
    if (a->size > 0 && a->size + (int64_t)len > a->max_size)
        rotate_locked(a);
    if (a->fd < 0)
        return;
    ssize_t w = write(a->fd, line, len);
    if (w > 0)
        a->size += w;
}

void sfk_audit(sftpkit_server *s, const sfk_audit_record *r)
{
    if (!sfk_audit_enabled(s))
        return;
    struct sfk_audit *a = s->audit;
    char *json = encode(r);
    if (!json)
        return;
    size_t len = strlen(json);
    pthread_mutex_lock(&a->lock);
    if (a->fd >= 0) {
        json[len] = '\n'; /* the terminator's room holds the newline for the one write() */
        write_locked(a, json, len + 1);
        json[len] = '\0';
    }
    pthread_mutex_unlock(&a->lock);
    if (atomic_load_explicit(&a->events, memory_order_relaxed))
        sfk_fire_on_notification(s, "Audit", json);
    free(json);
}

int sfk_audit_start(sftpkit_server *s)
{
    if (!s->audit) {
        struct sfk_audit *a = calloc(1, sizeof *a);
        if (!a)
            return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        pthread_mutex_init(&a->lock, NULL);
        a->fd = -1;
        s->audit = a;
    }
    struct sfk_audit *a = s->audit;
    char *path = sfk_config_str(s, SFK_CFG_AUDITLOGFILE);
    int rc = 0;
    pthread_mutex_lock(&a->lock);
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    free(a->path);
    a->path = path;
    a->max_size = sfk_config_int(s, SFK_CFG_AUDITLOGMAXSIZE);
    a->max_files = (int)sfk_config_int(s, SFK_CFG_AUDITLOGMAXFILES);
    if (path && *path) {
        a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (a->fd < 0) {
            rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: AuditLogFile \"%s\": %s", path, strerror(errno));
        } else {
            struct stat st;
            a->size = fstat(a->fd, &st) == 0 ? (int64_t)st.st_size : 0;
        }
    }
    int events = (int)sfk_config_int(s, SFK_CFG_AUDITLOGEVENTS);
    atomic_store(&a->events, events);
    atomic_store(&a->enabled, a->fd >= 0 || events);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

void sfk_audit_destroy(sftpkit_server *s)
{
    struct sfk_audit *a = s->audit;
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    free(a->path);
    pthread_mutex_destroy(&a->lock);
    free(a);
    s->audit = NULL;
}
