/* PROXY protocol header parser and the trusted-balancer list (see proxy_protocol.h). Every
 * length is checked against what is present before it is used: the bytes come from the network,
 * possibly from a hostile peer that reached a trusted address. */
#include "server/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t V2_SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char V1_SIG[] = "PROXY ";

static sfk_proxy_result invalid(sfk_proxy_header *out, const char *why)
{
    snprintf(out->why, sizeof out->why, "%s", why);
    return SFK_PROXY_INVALID;
}

/* A v1 port: 1 to 5 digits, at most 65535. */
static int parse_port(const char *t, int *port)
{
    size_t n = strlen(t);
    if (n < 1 || n > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (t[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = v;
    return 0;
}

/* "PROXY TCP4 <src> <dst> <sport> <dport>\r\n", or "PROXY UNKNOWN[ anything]\r\n". */
static sfk_proxy_result parse_v1(const uint8_t *buf, size_t len, sfk_proxy_header *out, size_t *consumed)
{
    size_t scan = len < SFK_PROXY_V1_MAX ? len : SFK_PROXY_V1_MAX, end = 0;
    for (size_t i = 0; i + 1 < scan; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n') {
            end = i;
            break;
        }
    if (!end) {
        if (len >= SFK_PROXY_V1_MAX)
            return invalid(out, "v1 header without CRLF within 107 bytes");
        for (size_t i = 0; i < len; i++)
            if (buf[i] == '\n' || buf[i] == 0)
                return invalid(out, "v1 header with a bare LF or a NUL");
        return SFK_PROXY_NEED_MORE;
    }
    char line[SFK_PROXY_V1_MAX + 1];
    memcpy(line, buf, end);
    line[end] = '\0';
    out->version = 1;
    *consumed = end + 2;
    if (!strncmp(line + 6, "UNKNOWN", 7) && (line[13] == '\0' || line[13] == ' ')) {
        out->proxied = 0; /* the balancer could not tell: the socket's address is what we know */
        return SFK_PROXY_COMPLETE;
    }
    /* exactly five single-space separated fields after "PROXY " */
    char *field[5];
    int n = 0;
    char *p = line + 6;
    while (n < 5) {
        field[n++] = p;
        char *sp = strchr(p, ' ');
        if (!sp || n == 5)
            break; /* the last field keeps any further blank, which is refused below */
        *sp = '\0';
        p = sp + 1;
    }
    if (n != 5 || strchr(field[4], ' '))
        return invalid(out, "v1 header does not have 5 fields");
    for (int i = 0; i < 5; i++)
        if (!*field[i])
            return invalid(out, "v1 header has an empty field");
    int family;
    if (!strcmp(field[0], "TCP4"))
        family = AF_INET;
    else if (!strcmp(field[0], "TCP6"))
        family = AF_INET6;
    else
        return invalid(out, "v1 header names an unknown protocol");
    uint8_t tmp[16];
    if (strlen(field[1]) >= sizeof out->src_addr || strlen(field[2]) >= sizeof out->dst_addr ||
        inet_pton(family, field[1], tmp) != 1 || inet_pton(family, field[2], tmp) != 1)
        return invalid(out, "v1 header has an address that is not of its protocol");
    if (parse_port(field[3], &out->src_port) || parse_port(field[4], &out->dst_port))
        return invalid(out, "v1 header has a bad port");
    /* re-print rather than copy, so the stored text is canonical (as peer_of prints) */
    inet_pton(family, field[1], tmp);
    inet_ntop(family, tmp, out->src_addr, sizeof out->src_addr);
    inet_pton(family, field[2], tmp);
    inet_ntop(family, tmp, out->dst_addr, sizeof out->dst_addr);
    out->family = family;
    out->proxied = 1;
    return SFK_PROXY_COMPLETE;
}

static int get_u16(const uint8_t *p)
{
    return (p[0] << 8) | p[1];
}

static sfk_proxy_result parse_v2(const uint8_t *buf, size_t len, sfk_proxy_header *out, size_t *consumed)
{
    if (len < 16)
        return SFK_PROXY_NEED_MORE;
    int ver = buf[12] >> 4, cmd = buf[12] & 0x0F, fam = buf[13] >> 4, proto = buf[13] & 0x0F;
    size_t body = (size_t)get_u16(buf + 14), total = 16 + body;
    if (ver != 2)
        return invalid(out, "v2 signature with a version other than 2");
    if (cmd > 1)
        return invalid(out, "v2 header with an unknown command");
    if (total > SFK_PROXY_MAX_HEADER)
        return invalid(out, "v2 header longer than 1024 bytes");
    if (len < total)
        return SFK_PROXY_NEED_MORE;
    out->version = 2;
    *consumed = total;
    if (cmd == 0) { /* LOCAL: the balancer's own connection; the address block is to be ignored */
        out->proxied = 0;
        return SFK_PROXY_COMPLETE;
    }
    if (fam > 3 || proto > 2)
        return invalid(out, "v2 header with an unknown address family or protocol");
    if (proto == 2)
        return invalid(out, "v2 header for a datagram connection");
    if (fam == 0 || fam == 3 || proto == 0) { /* UNSPEC or a UNIX socket: no client IP to use */
        out->proxied = 0;
        return SFK_PROXY_COMPLETE;
    }
    size_t alen = fam == 1 ? 12 : 36, asize = fam == 1 ? 4 : 16;
    if (body < alen)
        return invalid(out, "v2 address block shorter than its family needs");
    const uint8_t *a = buf + 16;
    int family = fam == 1 ? AF_INET : AF_INET6;
    inet_ntop(family, a, out->src_addr, sizeof out->src_addr);
    inet_ntop(family, a + asize, out->dst_addr, sizeof out->dst_addr);
    out->src_port = get_u16(a + 2 * asize);
    out->dst_port = get_u16(a + 2 * asize + 2);
    /* TLVs fill the rest of the body exactly: each must end inside it */
    size_t off = 16 + alen;
    out->tlv_count = 0;
    while (off < total) {
        if (total - off < 3)
            return invalid(out, "v2 TLV header cut by the end of the header");
        size_t tlen = (size_t)get_u16(buf + off + 1);
        if (total - off - 3 < tlen)
            return invalid(out, "v2 TLV runs past the end of the header");
        off += 3 + tlen;
        out->tlv_count++;
    }
    out->family = family;
    out->proxied = 1;
    return SFK_PROXY_COMPLETE;
}

sfk_proxy_result sfk_proxy_parse(const uint8_t *buf, size_t len, sfk_proxy_header *out, size_t *consumed)
{
    memset(out, 0, sizeof *out);
    *consumed = 0;
    if (!len)
        return SFK_PROXY_NEED_MORE;
    size_t v1n = len < 6 ? len : 6, v2n = len < 12 ? len : 12;
    if (!memcmp(buf, V1_SIG, v1n))
        return len < 6 ? SFK_PROXY_NEED_MORE : parse_v1(buf, len, out, consumed);
    if (!memcmp(buf, V2_SIG, v2n))
        return len < 12 ? SFK_PROXY_NEED_MORE : parse_v2(buf, len, out, consumed);
    return SFK_PROXY_ABSENT;
}

/* ---- trusted balancers ------------------------------------------------------------------------ */

typedef struct {
    int family;
    uint8_t addr[16];
    int bits;
} cidr;

static int parse_cidr(const char *text, cidr *c)
{
    char host[64];
    const char *slash = strchr(text, '/');
    size_t hl = slash ? (size_t)(slash - text) : strlen(text);
    if (!hl || hl >= sizeof host)
        return -1;
    memcpy(host, text, hl);
    host[hl] = '\0';
    c->family = strchr(host, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(c->family, host, c->addr) != 1)
        return -1;
    int max = c->family == AF_INET ? 32 : 128;
    c->bits = max;
    if (slash) {
        const char *d = slash + 1;
        int v = 0;
        if (!*d || strlen(d) > 3)
            return -1;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return -1;
            v = v * 10 + (*d - '0');
        }
        if (v > max)
            return -1;
        c->bits = v;
    }
    return 0;
}

static int prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole))
        return 0;
    if (!rest)
        return 1;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* Calls fn on each entry of list (comma or blank separated); stops at a nonzero return. */
static int each_entry(const char *list, int (*fn)(const char *entry, void *ctx), void *ctx)
{
    char entry[80];
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ", \t");
        if (!n)
            break;
        if (n >= sizeof entry)
            n = sizeof entry - 1; /* too long to be an address: fails to parse below */
        memcpy(entry, p, n);
        entry[n] = '\0';
        p += strcspn(p, ", \t");
        int r = fn(entry, ctx);
        if (r)
            return r;
    }
    return 0;
}

typedef struct {
    char *bad;
    size_t bad_len;
} check_ctx;

static int check_one(const char *entry, void *ctx)
{
    check_ctx *k = ctx;
    cidr c;
    if (parse_cidr(entry, &c) == 0)
        return 0;
    if (k->bad && k->bad_len)
        snprintf(k->bad, k->bad_len, "%s", entry);
    return -1;
}

int sfk_proxy_trust_check(const char *list, char *bad, size_t bad_len)
{
    check_ctx k = {bad, bad_len};
    return each_entry(list, check_one, &k);
}

typedef struct {
    int family;
    uint8_t addr[16];
} match_ctx;

static int match_one(const char *entry, void *ctx)
{
    match_ctx *m = ctx;
    cidr c;
    return parse_cidr(entry, &c) == 0 && c.family == m->family && prefix_match(c.addr, m->addr, c.bits);
}

int sfk_proxy_trusted(const char *list, const char *addr)
{
    match_ctx m;
    m.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(m.family, addr, m.addr) != 1)
        return 0;
    if (m.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)m.addr)) {
        memmove(m.addr, m.addr + 12, 4);
        m.family = AF_INET;
    }
    return each_entry(list, match_one, &m) == 1;
}
