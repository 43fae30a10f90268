/* A small logger per server. Lines are formatted at once and either written immediately or kept
 * in a bounded cache, as LogFlushMode / LogMaxEventCount / LogRotationMode say. */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api/config.h"
#include "api/server.h"

enum { D_TIME = 1, D_LEVEL = 2, D_MODULE = 4, D_THREAD = 8 };
enum { FLUSH_NONE, FLUSH_IMMEDIATE, FLUSH_MAXCOUNT };
enum { ROT_NONE, ROT_DELETE_OLDER, ROT_KEEP_OLDER };

struct sfk_logger {
    pthread_mutex_t lock;
    int level; /* 0 = off */
    int to_console, details, flush_mode, rotation;
    long max_count;
    char *file_path;
    FILE *file;
    char *filters; /* "include-module:ssh,exclude-module:sftp" */
    char **cache;
    long cached;
};

static const char *const level_names[] = {"none", "fatal", "error", "warning", "info", "debug", "trace"};

static int index_in(const char *const *names, int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], v))
            return i;
    return 0;
}

static void write_line(struct sfk_logger *lg, const char *line)
{
    if (lg->to_console)
        fprintf(stderr, "%s\n", line);
    if (lg->file) {
        fprintf(lg->file, "%s\n", line);
        fflush(lg->file);
    }
}

static void flush_locked(struct sfk_logger *lg)
{
    for (long i = 0; i < lg->cached; i++) {
        write_line(lg, lg->cache[i]);
        free(lg->cache[i]);
    }
    lg->cached = 0;
}

static int has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; (p = strstr(p, token)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
            return 1;
    return 0;
}

void sfk_log_reconfigure(sftpkit_server *s)
{
    char *level = sfk_config_str(s, SFK_CFG_LOGLEVEL), *dest = sfk_config_str(s, SFK_CFG_LOGDESTINATION);
    char *file = sfk_config_str(s, SFK_CFG_LOGFILE), *details = sfk_config_str(s, SFK_CFG_LOGDETAILS);
    char *flush = sfk_config_str(s, SFK_CFG_LOGFLUSHMODE), *rot = sfk_config_str(s, SFK_CFG_LOGROTATIONMODE);
    char *filters = sfk_config_str(s, SFK_CFG_LOGFILTERS);
    long max = (long)sfk_config_int(s, SFK_CFG_LOGMAXEVENTCOUNT);
    struct sfk_logger *lg = s->logger;
    if (!lg && level && strcmp(level, "none")) {
        lg = calloc(1, sizeof *lg);
        if (lg) {
            pthread_mutex_init(&lg->lock, NULL);
            sfk_lock(s);
            s->logger = lg;
            sfk_unlock(s);
        }
    }
    if (lg && level && dest && file && details && flush && rot && filters) {
        pthread_mutex_lock(&lg->lock);
        flush_locked(lg);
        lg->level = index_in(level_names, 7, level);
        /* No destination named: the console, so that LogLevel alone shows something. */
        lg->to_console = has_token(dest, "console") || (!*dest && !*file);
        int want_file = has_token(dest, "file") || (*file && !*dest);
        if (!lg->file_path || strcmp(lg->file_path, file) || !want_file) {
            if (lg->file)
                fclose(lg->file);
            lg->file = want_file && *file ? fopen(file, "a") : NULL;
            free(lg->file_path);
            lg->file_path = strdup(file);
        }
        int all = has_token(details, "all");
        lg->details = (all || has_token(details, "time") ? D_TIME : 0) |
                      (all || has_token(details, "level") ? D_LEVEL : 0) |
                      (all || has_token(details, "module") ? D_MODULE : 0) |
                      (all || has_token(details, "threadid") ? D_THREAD : 0);
        static const char *const flushes[] = {"none", "immediate", "maxcount"};
        static const char *const rots[] = {"none", "deleteolder", "keepolder"};
        lg->flush_mode = index_in(flushes, 3, flush);
        lg->rotation = index_in(rots, 3, rot);
        if (max != lg->max_count) {
            char **cache = realloc(lg->cache, (size_t)max * sizeof *cache);
            if (cache) {
                lg->cache = cache;
                lg->max_count = max;
            }
        }
        free(lg->filters);
        lg->filters = filters;
        filters = NULL;
        pthread_mutex_unlock(&lg->lock);
    }
    free(level), free(dest), free(file), free(details), free(flush), free(rot), free(filters);
}

static int module_passes(const char *filters, const char *module)
{
    if (!filters || !*filters)
        return 1;
    char inc[80], exc[80];
    snprintf(inc, sizeof inc, "include-module:%s", module);
    snprintf(exc, sizeof exc, "exclude-module:%s", module);
    if (has_token(filters, exc))
        return 0;
    return !strstr(filters, "include-module:") || has_token(filters, inc);
}

int sfk_log_enabled(sftpkit_server *s, int level, const char *module)
{
    struct sfk_logger *lg = s ? s->logger : NULL;
    if (!lg)
        return 0;
    pthread_mutex_lock(&lg->lock);
    int on = level <= lg->level && module_passes(lg->filters, module);
    pthread_mutex_unlock(&lg->lock);
    return on;
}

void sfk_log(sftpkit_server *s, int level, const char *module, const char *fmt, ...)
{
    if (!sfk_log_enabled(s, level, module))
        return;
    struct sfk_logger *lg = s->logger;
    char prefix[160] = "", message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* An application log handler takes the line instead of the console (its logger formats and
     * buffers it); LogFile keeps receiving it below. Called before lg->lock is taken. */
    int sunk = sfk_log_sink_deliver(s, level, module, message);
    pthread_mutex_lock(&lg->lock);
    if (sunk && !lg->file) {
        pthread_mutex_unlock(&lg->lock);
        return;
    }
    size_t at = 0;
    if (lg->details & D_TIME) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        at += strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S", &tm);
        at += (size_t)snprintf(prefix + at, sizeof prefix - at, ".%03ldZ ", ts.tv_nsec / 1000000);
    }
    if (lg->details & D_LEVEL)
        at += (size_t)snprintf(prefix + at, sizeof prefix - at, "[%s] ", level_names[level]);
    if (lg->details & D_MODULE)
        at += (size_t)snprintf(prefix + at, sizeof prefix - at, "%s: ", module);
    if (lg->details & D_THREAD)
        snprintf(prefix + at, sizeof prefix - at, "(tid %ld) ", (long)syscall(SYS_gettid));
    char line[1200];
    snprintf(line, sizeof line, "%s%s", prefix, message);
    if (sunk) {
        fprintf(lg->file, "%s\n", line);
        fflush(lg->file);
    } else if (lg->flush_mode == FLUSH_IMMEDIATE) {
        write_line(lg, line);
    } else if (lg->cached < lg->max_count) {
        lg->cache[lg->cached++] = strdup(line);
        if (lg->cached == lg->max_count && (lg->flush_mode == FLUSH_MAXCOUNT || lg->rotation == ROT_NONE))
            flush_locked(lg);
    } else if (lg->rotation == ROT_DELETE_OLDER && lg->max_count > 0) {
        free(lg->cache[0]);
        memmove(lg->cache, lg->cache + 1, (size_t)(lg->max_count - 1) * sizeof *lg->cache);
        lg->cache[lg->max_count - 1] = strdup(line);
    } /* ROT_KEEP_OLDER: the newer line is discarded */
    pthread_mutex_unlock(&lg->lock);
}

void sfk_log_flush(sftpkit_server *s)
{
    struct sfk_logger *lg = s ? s->logger : NULL;
    if (!lg)
        return;
    pthread_mutex_lock(&lg->lock);
    flush_locked(lg);
    pthread_mutex_unlock(&lg->lock);
}

void sfk_log_destroy(sftpkit_server *s)
{
    struct sfk_logger *lg = s->logger;
    if (!lg)
        return;
    sfk_log_flush(s);
    if (lg->file)
        fclose(lg->file);
    free(lg->file_path);
    free(lg->filters);
    free(lg->cache);
    pthread_mutex_destroy(&lg->lock);
    free(lg);
    s->logger = NULL;
}
