/* The library's debug log, driven by the Log* config settings (LogLevel, LogDestination,
 * LogFile, LogDetails, LogFilters, LogFlushMode, LogMaxEventCount, LogRotationMode). Internal. */
#ifndef SFK_LOG_H
#define SFK_LOG_H

#include "sftpkit/sftpkit.h"

enum { SFK_LOG_FATAL = 1, SFK_LOG_ERROR, SFK_LOG_WARNING, SFK_LOG_INFO, SFK_LOG_DEBUG, SFK_LOG_TRACE };

/* Is level enabled for module? Cheap; lets callers skip formatting. */
int sfk_log_enabled(sftpkit_server *s, int level, const char *module);
void sfk_log(sftpkit_server *s, int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Re-reads the Log* settings (config() calls it after every change). */
void sfk_log_reconfigure(sftpkit_server *s);
/* Writes out whatever is cached (LogFlushMode=none/maxcount). */
void sfk_log_flush(sftpkit_server *s);
void sfk_log_destroy(sftpkit_server *s);

/* The application's log handler (sftpkit_server_set_log_handler, util/log_sink.c): hands one
 * line to it, outside every SDK lock; 1 when a handler took it (the console is then skipped). */
int sfk_log_sink_deliver(sftpkit_server *s, int level, const char *module, const char *message);
void sfk_log_sink_destroy(sftpkit_server *s);

#endif
