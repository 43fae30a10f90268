/* The listener's PROXY protocol step (proxy_receive.c). Internal. */
#ifndef SFK_PROXY_RECEIVE_H
#define SFK_PROXY_RECEIVE_H

#include <stddef.h>

/* ProxyProtocol setting, as stored at start() */
enum { SFK_PROXY_MODE_OFF = 0, SFK_PROXY_MODE_OPTIONAL = 1, SFK_PROXY_MODE_REQUIRED = 2 };

typedef enum {
    SFK_PROXY_DIRECT = 0,  /* no header (allowed): addr and port stay the socket's */
    SFK_PROXY_PROXIED = 1, /* a header was consumed; addr/port are the client's (or unchanged for
                              LOCAL/UNKNOWN); why_text says which */
    SFK_PROXY_REFUSE = 2,  /* close the connection; why_text says why */
} sfk_proxy_verdict;

/* fd: the accepted socket; wake_fd: readable when the server stops (-1: none); mode: not OFF;
 * trusted: ProxyProtocolTrustedAddresses; addr/port: in, the socket's peer; out, the client. */
sfk_proxy_verdict sfk_proxy_receive(int fd, int wake_fd, int mode, const char *trusted, int timeout_ms, char *addr,
                                    size_t addr_len, int *port, char *why_text, size_t why_len);

#endif
