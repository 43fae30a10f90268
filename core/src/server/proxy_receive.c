/* Reads a PROXY protocol header off a just-accepted socket (ProxyProtocol=optional|required) and
 * replaces the balancer's address with the client's, before anything else (on_accept, limits,
 * logs, pin_client) reads the address.
 *
 * It runs on the accept thread, so it must not let an arbitrary peer stall it: an untrusted
 * source is never waited for (only a non-blocking peek, to refuse a header it should not send;
 * a header that arrives later fails libssh's banner check instead). A trusted balancer sends its
 * header at once with the connection (HAProxy does, in the first segment), so waiting for it
 * costs nothing in practice; a slow or broken one is bounded by the handshake timeout, and
 * stop() interrupts the wait through the wake pipe.
 *
 * Bytes are consumed only while they are certainly part of the header (one byte at a time for
 * v1, exact lengths for v2): the client's SSH bytes after it must stay in the socket for libssh. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/proxy_protocol.h"
#include "server/proxy_receive.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is readable; 0, or -1 with why set (timeout, stop, closed). */
static int wait_readable(int fd, int wake_fd, int64_t deadline, const char **why)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            *why = "no complete PROXY header within the handshake timeout";
            return -1;
        }
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
        int n = poll(p, wake_fd >= 0 ? 2 : 1, (int)(left > 1000 ? 1000 : left));
        if (n < 0 && errno != EINTR) {
            *why = "poll failed while reading the PROXY header";
            return -1;
        }
        if (n > 0 && wake_fd >= 0 && (p[1].revents & POLLIN)) {
            *why = "the server is stopping";
            return -1;
        }
        if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            return 0;
    }
}

/* How many more bytes to consume given the header prefix buf[0..have). */
static size_t next_step(const uint8_t *buf, size_t have)
{
    if (buf[0] == 'P')
        return 1; /* v1 ends at a CRLF nobody announces: never read past it */
    if (have < 16)
        return 16 - have;
    return 16 + (size_t)((buf[14] << 8) | buf[15]) - have; /* the parser capped the length */
}

sfk_proxy_verdict sfk_proxy_receive(int fd, int wake_fd, int mode, const char *trusted, int timeout_ms, char *addr,
                                    size_t addr_len, int *port, char *why_text, size_t why_len)
{
    int is_trusted = sfk_proxy_trusted(trusted, addr);
    uint8_t buf[SFK_PROXY_MAX_HEADER];
    sfk_proxy_header h;
    size_t used;
    if (!is_trusted) {
        if (mode == SFK_PROXY_MODE_REQUIRED) {
            snprintf(why_text, why_len, "not from a trusted balancer (ProxyProtocol=required)");
            return SFK_PROXY_REFUSE;
        }
        ssize_t n = recv(fd, buf, 16, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0 && sfk_proxy_parse(buf, (size_t)n, &h, &used) != SFK_PROXY_ABSENT) {
            snprintf(why_text, why_len, "a PROXY header from an untrusted address");
            return SFK_PROXY_REFUSE;
        }
        return SFK_PROXY_DIRECT;
    }
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
    const char *why = NULL;
    /* the first byte decides, and is only peeked: a direct client's "SSH-" must stay unread */
    if (wait_readable(fd, wake_fd, deadline, &why)) {
        snprintf(why_text, why_len, "%s", why);
        return SFK_PROXY_REFUSE;
    }
    ssize_t n = recv(fd, buf, 1, MSG_PEEK);
    if (n <= 0) {
        snprintf(why_text, why_len, "closed before a PROXY header");
        return SFK_PROXY_REFUSE;
    }
    if (sfk_proxy_parse(buf, 1, &h, &used) == SFK_PROXY_ABSENT) {
        if (mode == SFK_PROXY_MODE_REQUIRED) {
            snprintf(why_text, why_len, "no PROXY header (ProxyProtocol=required)");
            return SFK_PROXY_REFUSE;
        }
        return SFK_PROXY_DIRECT;
    }
    size_t have = 0;
    for (;;) {
        size_t want = have ? next_step(buf, have) : 1;
        while (want) {
            if (wait_readable(fd, wake_fd, deadline, &why)) {
                snprintf(why_text, why_len, "%s", why);
                return SFK_PROXY_REFUSE;
            }
            n = recv(fd, buf + have, want, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                snprintf(why_text, why_len, "closed inside the PROXY header");
                return SFK_PROXY_REFUSE;
            }
            if (n > 0)
                have += (size_t)n, want -= (size_t)n;
        }
        sfk_proxy_result r = sfk_proxy_parse(buf, have, &h, &used);
        if (r == SFK_PROXY_COMPLETE)
            break;
        if (r != SFK_PROXY_NEED_MORE) {
            snprintf(why_text, why_len, "malformed PROXY header: %s",
                     r == SFK_PROXY_INVALID ? h.why : "not a PROXY header");
            return SFK_PROXY_REFUSE;
        }
    }
    if (h.proxied) {
        snprintf(addr, addr_len, "%s", h.src_addr);
        *port = h.src_port;
    }
    snprintf(why_text, why_len, "PROXY v%d %s", h.version, h.proxied ? "header" : "LOCAL/UNKNOWN header");
    return SFK_PROXY_PROXIED;
}
