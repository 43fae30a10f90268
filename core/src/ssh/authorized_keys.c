/* authorized_keys lines with options (see authorized_keys.h for the policy). The option syntax
 * is sshd's: comma-separated, names case-insensitive, values in double quotes with \" inside. */
#include "ssh/authorized_keys.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ssh/keys.h"
#include "util/log.h"

#define SFK_AK_MAX_FROM 8 /* from= options on one line (each must allow the address) */

typedef struct {
    char *from[SFK_AK_MAX_FROM];
    int nfrom;
    long long expiry; /* 0: none */
} ak_opts;

static void opts_free(ak_opts *o)
{
    for (int i = 0; i < o->nfrom; i++)
        free(o->from[i]);
    memset(o, 0, sizeof *o);
}

/* Options that restrict (or permit) what this server never offers: shells and commands, pty,
 * forwarding, X11, tunnels, ~/.ssh/rc, environment. They hold by construction. */
static const char *const nothing_to_enforce[] = {
    "restrict",
    "no-port-forwarding",
    "no-agent-forwarding",
    "no-x11-forwarding",
    "no-pty",
    "no-user-rc",
    "port-forwarding",
    "agent-forwarding",
    "x11-forwarding",
    "pty",
    "user-rc",
    "no-touch-required",
    NULL,
};
static const char *const valued_nothing_to_enforce[] = {"permitopen", "permitlisten", "environment", "tunnel", NULL};

static int in_list(const char *const *list, const char *name)
{
    for (int i = 0; list[i]; i++)
        if (!strcasecmp(list[i], name))
            return 1;
    return 0;
}

static int fail(char *why, size_t cap, const char *fmt, const char *arg)
{
    snprintf(why, cap, fmt, arg);
    return -1;
}

/* command= names the SFTP server itself (what `command="internal-sftp"` lines mean to sshd)?
 * Arguments (-R read-only, -P/-p request lists, -d start directory...) are not accepted: this
 * server would not honour them. */
static int is_sftp_command(const char *v)
{
    if (!strcmp(v, "internal-sftp") || !strcmp(v, "sftp-server"))
        return 1;
    size_t n = strlen(v), k = strlen("/sftp-server");
    return n > k && !strcmp(v + n - k, "/sftp-server") && !strpbrk(v, " \t");
}

static int apply_option(ak_opts *o, const char *name, const char *value, char *why, size_t cap)
{
    if (in_list(nothing_to_enforce, name)) {
        if (value)
            return fail(why, cap, "authorized_keys option %s takes no value", name);
        return 0;
    }
    if (in_list(valued_nothing_to_enforce, name)) {
        if (!value)
            return fail(why, cap, "authorized_keys option %s needs a value", name);
        return 0;
    }
    if (!strcasecmp(name, "from")) {
        if (!value || !*value)
            return fail(why, cap, "authorized_keys option %s needs a pattern list", name);
        if (o->nfrom)
            return fail(why, cap, "authorized_keys: more than one %s= option (sshd refuses such a line too)", name);
        if (!(o->from[o->nfrom] = strdup(value)))
            return fail(why, cap, "%s", "out of memory");
        o->nfrom++;
        return 0;
    }
    if (!strcasecmp(name, "expiry-time")) {
        long long t = value ? sfk_ak_parse_expiry(value) : -1;
        if (t < 0)
            return fail(why, cap, "authorized_keys: expiry-time=\"%s\" is not YYYYMMDD[HHMM[SS]][Z]",
                        value ? value : "");
        if (!o->expiry || t < o->expiry)
            o->expiry = t;
        return 0;
    }
    if (!strcasecmp(name, "command")) {
        if (value && is_sftp_command(value))
            return 0;
        return fail(why, cap,
                    "authorized_keys: command=\"%s\" cannot be enforced (this server runs no commands; "
                    "only command=\"internal-sftp\" is accepted)",
                    value ? value : "");
    }
    if (!strcasecmp(name, "cert-authority") || !strcasecmp(name, "principals"))
        return fail(why, cap, "authorized_keys option %s cannot be enforced: certificates are not supported", name);
    if (!strcasecmp(name, "verify-required"))
        return fail(why, cap, "authorized_keys option %s cannot be enforced: FIDO user verification is not checked",
                    name);
    return fail(why, cap, "authorized_keys option %s is unknown to this server and cannot be enforced", name);
}

/* Parses the options text s[0..n) into o. 0, or -1 with why. */
static int parse_options(const char *s, size_t n, ak_opts *o, char *why, size_t cap)
{
    size_t i = 0;
    while (i < n) {
        char name[64], *value = NULL;
        size_t k = 0;
        while (i < n && s[i] != '=' && s[i] != ',') {
            if (k + 1 >= sizeof name || !(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
                return fail(why, cap, "authorized_keys: malformed options \"%.60s\"", s);
            name[k++] = s[i++];
        }
        name[k] = '\0';
        if (!k)
            return fail(why, cap, "authorized_keys: malformed options \"%.60s\"", s);
        if (i < n && s[i] == '=') {
            if (++i >= n || s[i] != '"')
                return fail(why, cap, "authorized_keys option %s: the value must be in double quotes", name);
            i++;
            value = malloc(n - i + 1);
            if (!value)
                return fail(why, cap, "%s", "out of memory");
            size_t v = 0;
            while (i < n && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < n && s[i + 1] == '"')
                    i++;
                value[v++] = s[i++];
            }
            value[v] = '\0';
            if (i >= n) {
                free(value);
                return fail(why, cap, "authorized_keys option %s: unterminated quoted value", name);
            }
            i++; /* the closing quote */
        }
        int rc = apply_option(o, name, value, why, cap);
        free(value);
        if (rc)
            return rc;
        if (i < n && s[i] != ',')
            return fail(why, cap, "authorized_keys: malformed options \"%.60s\"", s);
        if (i < n)
            i++;
    }
    return 0;
}

/* Splits a line into its options (*opts, *opts_len; none: length 0) and the "type base64 ..."
 * part. Returns 0 for a line without a key (blank or comment). */
static int split_line(const char *line, const char **opts, size_t *opts_len, const char **key_part)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (!*line || *line == '#' || *line == '\r')
        return 0;
    size_t i = 0;
    int quoted = 0;
    for (; line[i] && (quoted || (line[i] != ' ' && line[i] != '\t')); i++) {
        if (quoted && line[i] == '\\' && line[i + 1] == '"')
            i++;
        else if (line[i] == '"')
            quoted = !quoted;
    }
    char first[128];
    size_t fl = i < sizeof first - 1 ? i : sizeof first - 1;
    memcpy(first, line, fl);
    first[fl] = '\0';
    if (ssh_key_type_from_name(first) != SSH_KEYTYPE_UNKNOWN) {
        *opts = line;
        *opts_len = 0;
        *key_part = line;
        return 1;
    }
    *opts = line;
    *opts_len = i;
    const char *rest = line + i;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    *key_part = rest;
    return 1;
}

int sfk_ak_validate(const char *line, char *why, size_t cap)
{
    const char *opts, *key_part;
    size_t olen;
    if (!split_line(line, &opts, &olen, &key_part))
        return 0;
    /* a line whose key cannot be read never authorizes anything: only a usable key's options count */
    ssh_key k = sfk_key_parse_public_line(key_part);
    if (!k)
        return 0;
    ssh_key_free(k);
    ak_opts o = {0};
    int rc = parse_options(opts, olen, &o, why, cap);
    opts_free(&o);
    return rc;
}

sfk_ak_verdict sfk_ak_check(const char *line, ssh_key key, const char *addr, time_t now, char *why, size_t cap)
{
    const char *opts, *key_part;
    size_t olen;
    if (!split_line(line, &opts, &olen, &key_part))
        return SFK_AK_OTHER_KEY;
    ssh_key allowed = sfk_key_parse_public_line(key_part);
    int same = allowed && ssh_key_cmp(allowed, key, SSH_KEY_CMP_PUBLIC) == 0;
    ssh_key_free(allowed);
    if (!same)
        return SFK_AK_OTHER_KEY;
    ak_opts o = {0};
    sfk_ak_verdict v = SFK_AK_ALLOWED;
    if (parse_options(opts, olen, &o, why, cap)) {
        v = SFK_AK_UNUSABLE;
    } else if (o.expiry && (long long)now > o.expiry) {
        snprintf(why, cap, "the key expired (authorized_keys expiry-time)");
        v = SFK_AK_DENIED;
    } else {
        for (int i = 0; i < o.nfrom && v == SFK_AK_ALLOWED; i++)
            if (!sfk_ak_from_allows(o.from[i], addr ? addr : "")) {
                snprintf(why, cap, "the address %s is not in the key's from=\"%.200s\"", addr ? addr : "?", o.from[i]);
                v = SFK_AK_DENIED;
            }
    }
    opts_free(&o);
    return v;
}

int sfk_ak_allows_logged(sftpkit_server *s, const char *user, const char *line, ssh_key key, const char *addr)
{
    char why[300] = "";
    sfk_ak_verdict v = sfk_ak_check(line, key, addr, time(NULL), why, sizeof why);
    if (v == SFK_AK_DENIED || v == SFK_AK_UNUSABLE)
        sfk_log(s, v == SFK_AK_UNUSABLE ? SFK_LOG_WARNING : SFK_LOG_INFO, "auth", "public key of %s refused: %s", user,
                why);
    return v == SFK_AK_ALLOWED;
}

/* ---- from= ---------------------------------------------------------------------------------- */

/* addr inside network/bits? -1 when the CIDR pattern is malformed. */
static int cidr_match(const char *addr, const char *cidr)
{
    char net[64];
    const char *slash = strchr(cidr, '/');
    size_t nl = (size_t)(slash - cidr);
    if (!slash || nl >= sizeof net)
        return -1;
    memcpy(net, cidr, nl);
    net[nl] = '\0';
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end)
        return -1;
    uint8_t a[16], n[16];
    int len;
    if (inet_pton(AF_INET, net, n) == 1) {
        len = 4;
        if (inet_pton(AF_INET, addr, a) != 1)
            return 0;
    } else if (inet_pton(AF_INET6, net, n) == 1) {
        len = 16;
        if (inet_pton(AF_INET6, addr, a) != 1)
            return 0;
    } else {
        return -1;
    }
    if (bits < 0 || bits > len * 8)
        return -1;
    for (int i = 0; i < len; i++) {
        int take = bits >= 8 ? 8 : (int)bits;
        uint8_t mask = take ? (uint8_t)(0xff << (8 - take)) : 0;
        if ((a[i] & mask) != (n[i] & mask))
            return 0;
        bits -= take;
    }
    return 1;
}

int sfk_ak_from_allows(const char *patterns, const char *addr)
{
    /* an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d: match its IPv4 form */
    if (!strncasecmp(addr, "::ffff:", 7) && strchr(addr, '.'))
        addr += 7;
    char *copy = strdup(patterns), *save = NULL;
    if (!copy)
        return 0;
    int allowed = 0;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        int negated = *p == '!';
        if (negated)
            p++;
        /* Host names are not looked up (no DNS here): a pattern only ever matches the address. */
        int m = strchr(p, '/') ? cidr_match(addr, p) : fnmatch(p, addr, FNM_CASEFOLD) == 0;
        if (m < 0) { /* a malformed CIDR: sshd refuses the key too */
            allowed = 0;
            break;
        }
        if (m && negated) {
            allowed = 0;
            break;
        }
        if (m)
            allowed = 1;
    }
    free(copy);
    return allowed;
}

/* ---- expiry-time= --------------------------------------------------------------------------- */

long long sfk_ak_parse_expiry(const char *v)
{
    size_t n = strlen(v);
    int utc = n > 0 && (v[n - 1] == 'Z' || v[n - 1] == 'z');
    if (utc)
        n--;
    if (n != 8 && n != 12 && n != 14)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)v[i]))
            return -1;
    int f[6] = {0};
    const int width[6] = {4, 2, 2, 2, 2, 2};
    size_t at = 0;
    for (int i = 0; i < 6 && at < n; i++) {
        for (int k = 0; k < width[i]; k++)
            f[i] = f[i] * 10 + (v[at++] - '0');
    }
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
        return -1;
    struct tm tm = {.tm_year = f[0] - 1900,
                    .tm_mon = f[1] - 1,
                    .tm_mday = f[2],
                    .tm_hour = f[3],
                    .tm_min = f[4],
                    .tm_sec = f[5],
                    .tm_isdst = -1};
    time_t t = utc ? timegm(&tm) : mktime(&tm);
    return t == (time_t)-1 ? -1 : (long long)t;
}
