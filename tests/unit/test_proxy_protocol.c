/* PROXY protocol parser: v1 and v2 headers as HAProxy sends them (IPv4, IPv6, LOCAL, UNKNOWN,
 * TLVs), every prefix of a valid header asking for more bytes, and the malformed and hostile
 * forms refused with a reason; then the trusted-balancer list (addresses and CIDRs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "server/proxy_protocol.h"

static sfk_proxy_result parse(const void *buf, size_t len, sfk_proxy_header *h, size_t *used)
{
    return sfk_proxy_parse(buf, len, h, used);
}

/* Every strict prefix of a complete header must be NEED_MORE (never ABSENT or a wrong parse). */
static void assert_prefixes_need_more(const uint8_t *buf, size_t full)
{
    sfk_proxy_header h;
    size_t used;
    for (size_t n = 0; n < full; n++)
        assert_int_equal(parse(buf, n, &h, &used), SFK_PROXY_NEED_MORE);
}

static void test_v1_tcp4_and_trailing_client_bytes(void **state)
{
    (void)state;
    const char text[] = "PROXY TCP4 192.0.2.7 10.0.0.1 40001 2222\r\nSSH-2.0-OpenSSH_9.2\r\n";
    sfk_proxy_header h;
    size_t used;
    assert_int_equal(parse(text, strlen(text), &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(used, strlen("PROXY TCP4 192.0.2.7 10.0.0.1 40001 2222\r\n"));
    assert_int_equal(h.version, 1);
    assert_int_equal(h.proxied, 1);
    assert_int_equal(h.family, AF_INET);
    assert_string_equal(h.src_addr, "192.0.2.7");
    assert_string_equal(h.dst_addr, "10.0.0.1");
    assert_int_equal(h.src_port, 40001);
    assert_int_equal(h.dst_port, 2222);
    assert_prefixes_need_more((const uint8_t *)text, used);
}

static void test_v1_tcp6_canonical_and_unknown(void **state)
{
    (void)state;
    const char text[] = "PROXY TCP6 2001:DB8:0:0::1 ::1 65535 22\r\n";
    sfk_proxy_header h;
    size_t used;
    assert_int_equal(parse(text, strlen(text), &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(h.family, AF_INET6);
    assert_string_equal(h.src_addr, "2001:db8::1"); /* printed as the socket's addresses are */
    assert_int_equal(h.src_port, 65535);
    const char unknown[] = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
    assert_int_equal(parse(unknown, strlen(unknown), &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(h.proxied, 0);
    assert_int_equal(used, strlen(unknown));
    assert_int_equal(parse("PROXY UNKNOWN\r\n", 15, &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(h.proxied, 0);
}

static void test_v1_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "PROXY TCP4 192.0.2.7 10.0.0.1 40001\r\n",      /* a field missing */
        "PROXY TCP4 192.0.2.7 10.0.0.1 40001 22 9\r\n", /* one too many */
        "PROXY TCP4  192.0.2.7 10.0.0.1 40001 22\r\n",  /* double blank */
        "PROXY TCP4 ::1 10.0.0.1 40001 22\r\n",         /* IPv6 in TCP4 */
        "PROXY TCP6 192.0.2.7 ::1 40001 22\r\n",        /* IPv4 in TCP6 */
        "PROXY TCP4 192.0.2.7 10.0.0.1 65536 22\r\n",   /* port too big */
        "PROXY TCP4 192.0.2.7 10.0.0.1 -1 22\r\n",      /* not digits */
        "PROXY UDP4 192.0.2.7 10.0.0.1 1 22\r\n",       /* unknown protocol */
        "PROXY TCP4 192.0.2.7 10.0.0.1 1 22\n",         /* bare LF */
        "PROXY \r\n",                                   /* nothing */
        "PROXY UNKNOWNX\r\n",                           /* not the UNKNOWN keyword */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sfk_proxy_header h;
        size_t used;
        assert_int_equal(parse(bad[i], strlen(bad[i]), &h, &used), SFK_PROXY_INVALID);
        assert_true(h.why[0] != '\0');
    }
    /* 107 bytes without CRLF: the limit of the format, never more buffering */
    char longer[200];
    memset(longer, 'a', sizeof longer);
    memcpy(longer, "PROXY TCP4 ", 11);
    sfk_proxy_header h;
    size_t used;
    assert_int_equal(parse(longer, 106, &h, &used), SFK_PROXY_NEED_MORE);
    assert_int_equal(parse(longer, 107, &h, &used), SFK_PROXY_INVALID);
    assert_int_equal(parse(longer, sizeof longer, &h, &used), SFK_PROXY_INVALID);
}

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Builds a v2 header: signature, ver_cmd, fam, length, then body. */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *body, size_t body_len)
{
    memcpy(out, SIG, 12);
    out[12] = ver_cmd;
    out[13] = fam;
    out[14] = (uint8_t)(body_len >> 8);
    out[15] = (uint8_t)body_len;
    if (body_len) /* memcpy with NULL is undefined even for 0 bytes */
        memcpy(out + 16, body, body_len);
    return 16 + body_len;
}

static void test_v2_ipv4_with_tlvs(void **state)
{
    (void)state;
    uint8_t body[64] = {192, 0, 2, 7, 10, 0, 0, 1, 0x9c, 0x41, 0x08, 0xae}; /* 40001 -> 2222 */
    size_t n = 12;
    /* PP2_TYPE_ALPN "h2", then PP2_TYPE_UNIQUE_ID of 4 bytes, then an empty NOOP */
    const uint8_t tlvs[] = {0x01, 0, 2, 'h', '2', 0x05, 0, 4, 1, 2, 3, 4, 0x04, 0, 0};
    memcpy(body + n, tlvs, sizeof tlvs);
    n += sizeof tlvs;
    uint8_t buf[128];
    size_t len = v2(buf, 0x21, 0x11, body, n);
    buf[len] = 'S'; /* the client's first byte follows */
    sfk_proxy_header h;
    size_t used;
    assert_int_equal(parse(buf, len + 1, &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(used, len);
    assert_int_equal(h.version, 2);
    assert_int_equal(h.proxied, 1);
    assert_string_equal(h.src_addr, "192.0.2.7");
    assert_string_equal(h.dst_addr, "10.0.0.1");
    assert_int_equal(h.src_port, 40001);
    assert_int_equal(h.dst_port, 2222);
    assert_int_equal(h.tlv_count, 3);
    assert_prefixes_need_more(buf, len);
}

static void test_v2_ipv6(void **state)
{
    (void)state;
    uint8_t body[36] = {0};
    inet_pton(AF_INET6, "2001:db8::42", body);
    inet_pton(AF_INET6, "::1", body + 16);
    body[32] = 0x01, body[33] = 0x00; /* port 256 */
    body[34] = 0x00, body[35] = 0x16; /* port 22 */
    uint8_t buf[64];
    size_t len = v2(buf, 0x21, 0x21, body, sizeof body);
    sfk_proxy_header h;
    size_t used;
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(h.family, AF_INET6);
    assert_string_equal(h.src_addr, "2001:db8::42");
    assert_string_equal(h.dst_addr, "::1");
    assert_int_equal(h.src_port, 256);
    assert_int_equal(h.dst_port, 22);
    /* an IPv6 family with only an IPv4-sized block is refused */
    len = v2(buf, 0x21, 0x21, body, 12);
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_INVALID);
}

static void test_v2_local_and_unspec_keep_the_socket_address(void **state)
{
    (void)state;
    uint8_t junk[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, buf[64];
    sfk_proxy_header h;
    size_t used;
    size_t len = v2(buf, 0x20, 0x11, junk, sizeof junk); /* LOCAL: the address block is ignored */
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(h.proxied, 0);
    assert_int_equal(used, len);
    len = v2(buf, 0x20, 0x00, NULL, 0); /* HAProxy's health check: LOCAL, UNSPEC, no body */
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(h.proxied, 0);
    assert_int_equal(used, 16);
    len = v2(buf, 0x21, 0x00, NULL, 0); /* PROXY over UNSPEC */
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_COMPLETE);
    assert_int_equal(h.proxied, 0);
}

static void test_v2_malformed(void **state)
{
    (void)state;
    uint8_t addr[12] = {192, 0, 2, 7, 10, 0, 0, 1, 0, 1, 0, 2}, buf[2048];
    sfk_proxy_header h;
    size_t used;
    size_t len = v2(buf, 0x11, 0x11, addr, sizeof addr); /* version 1 in a v2 signature */
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_INVALID);
    len = v2(buf, 0x22, 0x11, addr, sizeof addr); /* command 2 */
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_INVALID);
    len = v2(buf, 0x21, 0x12, addr, sizeof addr); /* UDP */
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_INVALID);
    len = v2(buf, 0x21, 0x41, addr, sizeof addr); /* family 4 */
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_INVALID);
    len = v2(buf, 0x21, 0x11, addr, 8); /* IPv4 block cut short */
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_INVALID);
    /* a TLV whose length runs past the header, and a TLV header cut in two */
    uint8_t body[32];
    memcpy(body, addr, 12);
    body[12] = 0x05, body[13] = 0, body[14] = 9, body[15] = 1;
    len = v2(buf, 0x21, 0x11, body, 16);
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_INVALID);
    assert_non_null(strstr(h.why, "TLV"));
    len = v2(buf, 0x21, 0x11, body, 14);
    assert_int_equal(parse(buf, len, &h, &used), SFK_PROXY_INVALID);
    /* a length over the cap is refused from the first 16 bytes, before any more is read */
    memcpy(buf, SIG, 12);
    buf[12] = 0x21, buf[13] = 0x11, buf[14] = 0xFF, buf[15] = 0xFF;
    assert_int_equal(parse(buf, 16, &h, &used), SFK_PROXY_INVALID);
    buf[14] = (SFK_PROXY_MAX_HEADER - 16) >> 8, buf[15] = (SFK_PROXY_MAX_HEADER - 16) & 0xFF;
    assert_int_equal(parse(buf, 16, &h, &used), SFK_PROXY_NEED_MORE); /* exactly the cap is fine */
}

static void test_absent_for_ssh_and_other_bytes(void **state)
{
    (void)state;
    sfk_proxy_header h;
    size_t used;
    assert_int_equal(parse("SSH-2.0-x\r\n", 11, &h, &used), SFK_PROXY_ABSENT);
    assert_int_equal(parse("S", 1, &h, &used), SFK_PROXY_ABSENT);
    assert_int_equal(parse("PROXX", 5, &h, &used), SFK_PROXY_ABSENT);
    assert_int_equal(parse("PROXY", 5, &h, &used), SFK_PROXY_NEED_MORE);
    const uint8_t almost[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0B};
    assert_int_equal(parse(almost, sizeof almost, &h, &used), SFK_PROXY_ABSENT);
    assert_int_equal(parse(almost, 11, &h, &used), SFK_PROXY_NEED_MORE);
}

static void test_trusted_list(void **state)
{
    (void)state;
    const char *list = "127.0.0.1, 10.0.0.0/8 192.168.1.128/25,fd00::/8, ::1";
    char bad[80];
    assert_int_equal(sfk_proxy_trust_check(list, bad, sizeof bad), 0);
    assert_true(sfk_proxy_trusted(list, "127.0.0.1"));
    assert_false(sfk_proxy_trusted(list, "127.0.0.2"));
    assert_true(sfk_proxy_trusted(list, "10.255.1.2"));
    assert_false(sfk_proxy_trusted(list, "11.0.0.1"));
    assert_true(sfk_proxy_trusted(list, "192.168.1.200"));
    assert_false(sfk_proxy_trusted(list, "192.168.1.127"));
    assert_true(sfk_proxy_trusted(list, "fd12::1"));
    assert_false(sfk_proxy_trusted(list, "fe80::1"));
    assert_true(sfk_proxy_trusted(list, "::1"));
    assert_true(sfk_proxy_trusted(list, "::ffff:10.1.2.3")); /* mapped IPv4 */
    assert_false(sfk_proxy_trusted(list, "not an address"));
    assert_false(sfk_proxy_trusted("", "127.0.0.1"));
    assert_true(sfk_proxy_trusted("0.0.0.0/0", "203.0.113.9"));
    const char *bad_lists[] = {"10.0.0.0/33", "1.2.3", "::1/129", "10.0.0.0/", "host.example", "10.0.0.1/8x"};
    for (size_t i = 0; i < sizeof bad_lists / sizeof *bad_lists; i++) {
        bad[0] = '\0';
        assert_int_equal(sfk_proxy_trust_check(bad_lists[i], bad, sizeof bad), -1);
        assert_string_equal(bad, bad_lists[i]);
    }
    assert_int_equal(sfk_proxy_trust_check("127.0.0.1, 1.2.3", bad, sizeof bad), -1);
    assert_string_equal(bad, "1.2.3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_tcp4_and_trailing_client_bytes),
        cmocka_unit_test(test_v1_tcp6_canonical_and_unknown),
        cmocka_unit_test(test_v1_malformed),
        cmocka_unit_test(test_v2_ipv4_with_tlvs),
        cmocka_unit_test(test_v2_ipv6),
        cmocka_unit_test(test_v2_local_and_unspec_keep_the_socket_address),
        cmocka_unit_test(test_v2_malformed),
        cmocka_unit_test(test_absent_for_ssh_and_other_bytes),
        cmocka_unit_test(test_trusted_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
