/* The sample's --metrics ADDR:PORT: a minimal HTTP/1.0 endpoint answering GET /metrics with the
 * server's Prometheus text (sftpkit_server_metrics_prometheus). One thread, one request per
 * connection, bounded reads with a deadline: a scraper is trusted no more than an SFTP client. */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct metrics_http {
    sftpkit_server *srv;
    int fd;
    int port;
    atomic_int stop;
    pthread_t thread;
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w, n -= (size_t)w;
    }
}

static void respond(int fd, const char *status, const char *type, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     type, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

/* Reads the request head (up to 4 KiB, 2 s) and answers it. */
static void serve(struct metrics_http *m, int fd)
{
    char req[4096] = "";
    size_t have = 0;
    while (have < sizeof req - 1 && !strstr(req, "\r\n\r\n") && !strstr(req, "\n\n")) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return;
        ssize_t n = recv(fd, req + have, sizeof req - 1 - have, 0);
        if (n <= 0)
            return;
        have += (size_t)n;
        req[have] = '\0';
    }
    if (strncmp(req, "GET /metrics ", 13) && strncmp(req, "GET /metrics?", 13)) {
        respond(fd, "404 Not Found", "text/plain", "only GET /metrics is served here\n");
        return;
    }
    char *text = NULL;
    if (sftpkit_server_metrics_prometheus(m->srv, &text)) {
        respond(fd, "500 Internal Server Error", "text/plain", sftpkit_last_error_message());
        return;
    }
    respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text);
    sftpkit_free(text);
}

static void *run(void *arg)
{
    struct metrics_http *m = arg;
    while (!atomic_load(&m->stop)) {
        struct pollfd p = {.fd = m->fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int c = accept(m->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve(m, c);
        close(c);
    }
    return NULL;
}

struct metrics_http *metrics_http_start(sftpkit_server *srv, const char *addr_port)
{
    const char *colon = strrchr(addr_port, ':');
    if (!colon) {
        fprintf(stderr, "sftpkit-server: --metrics wants ADDR:PORT, got %s\n", addr_port);
        return NULL;
    }
    char host[128];
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr_port), addr_port);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9100 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res = NULL;
    if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res)) {
        fprintf(stderr, "sftpkit-server: --metrics %s: cannot resolve\n", addr_port);
        return NULL;
    }
    struct metrics_http *m = calloc(1, sizeof *m);
    int one = 1;
    m->srv = srv;
    m->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (m->fd < 0 || bind(m->fd, res->ai_addr, res->ai_addrlen) || listen(m->fd, 16)) {
        fprintf(stderr, "sftpkit-server: --metrics %s: %s\n", addr_port, strerror(errno));
        if (m->fd >= 0)
            close(m->fd);
        freeaddrinfo(res);
        free(m);
        return NULL;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(m->fd, (struct sockaddr *)&ss, &sl);
    m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    if (pthread_create(&m->thread, NULL, run, m)) {
        close(m->fd);
        free(m);
        return NULL;
    }
    return m;
}

int metrics_http_port(const struct metrics_http *m)
{
    return m->port;
}

void metrics_http_stop(struct metrics_http *m)
{
    if (!m)
        return;
    atomic_store(&m->stop, 1);
    pthread_join(m->thread, NULL);
    close(m->fd);
    free(m);
}
