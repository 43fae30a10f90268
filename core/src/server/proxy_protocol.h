/* PROXY protocol v1 (text) and v2 (binary) headers, as HAProxy, AWS NLB and others send them in
 * front of the client's own bytes. A pure parser (no sockets) so every malformed, truncated or
 * hostile form can be unit-tested; the listener (proxy_receive.c) feeds it from the socket.
 * Spec: https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt. Internal. */
#ifndef SFK_PROXY_PROTOCOL_H
#define SFK_PROXY_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

/* The longest header accepted. v1 is at most 107 bytes by definition; v2 allows 16 + 65535, but
 * a balancer's TLVs (ALPN, authority, CRC, unique id, SSL info) fit far below this, and a peer
 * must not make the server buffer 64 KiB before the first SSH byte. */
#define SFK_PROXY_MAX_HEADER 1024
#define SFK_PROXY_V1_MAX 107

typedef enum {
    SFK_PROXY_COMPLETE = 0,  /* a whole header: *consumed bytes of it */
    SFK_PROXY_NEED_MORE = 1, /* a valid prefix: read more bytes */
    SFK_PROXY_ABSENT = 2,    /* the bytes cannot start a PROXY header (a direct SSH client) */
    SFK_PROXY_INVALID = 3,   /* starts like one but is malformed: close the connection */
} sfk_proxy_result;

typedef struct {
    int version; /* 1 or 2 */
    /* 0: LOCAL (v2) or UNKNOWN (v1) — the balancer's own connection (a health check): the
     * socket's addresses stay the client's. 1: PROXY, the fields below are the real client's. */
    int proxied;
    int family; /* AF_INET or AF_INET6 when proxied */
    char src_addr[46], dst_addr[46];
    int src_port, dst_port;
    int tlv_count; /* v2 TLVs seen (each checked to lie inside the header) */
    char why[96];  /* SFK_PROXY_INVALID: what was wrong, for the log */
} sfk_proxy_header;

/* Parses the header at the start of buf[0..len). On SFK_PROXY_COMPLETE fills *out and sets
 * *consumed to the header's length (the client's bytes follow it). */
sfk_proxy_result sfk_proxy_parse(const uint8_t *buf, size_t len, sfk_proxy_header *out, size_t *consumed);

/* Trusted balancer list: "10.0.0.5, 192.168.0.0/16, ::1, fd00::/8". Returns 0 if every entry
 * parses, else -1 with the bad entry copied to bad (for the error message). */
int sfk_proxy_trust_check(const char *list, char *bad, size_t bad_len);
/* 1 if addr (numeric IPv4 or IPv6 text) is in the list, else 0. An IPv4-mapped IPv6 address
 * matches IPv4 entries. */
int sfk_proxy_trusted(const char *list, const char *addr);

#endif
