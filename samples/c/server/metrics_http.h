/* The sample server's Prometheus endpoint (metrics_http.c). */
#ifndef SFTPKIT_SAMPLE_METRICS_HTTP_H
#define SFTPKIT_SAMPLE_METRICS_HTTP_H

#include <sftpkit/sftpkit.h>

struct metrics_http;

/* Listens on addr_port ("127.0.0.1:9100", "[::1]:0", ":9100") and serves GET /metrics from a
 * thread of its own; NULL (after a message on stderr) when it cannot. */
struct metrics_http *metrics_http_start(sftpkit_server *srv, const char *addr_port);
int metrics_http_port(const struct metrics_http *m); /* the port really bound (for port 0) */
void metrics_http_stop(struct metrics_http *m);

#endif
