/* One authorized_keys line ("[options] type base64 [comment]") judged as OpenSSH's sshd judges
 * it, for what an SFTP-only server can enforce: from= (address patterns and CIDR) and
 * expiry-time= are enforced; options that restrict what this server never offers (forwarding,
 * pty, user rc, X11, tunnels, environment) are satisfied by construction; every other option
 * (a forced command other than the SFTP server, cert-authority, principals=, verify-required,
 * anything unknown) makes the line unusable, with the reason, instead of being skipped. Internal. */
#ifndef SFK_SSH_AUTHORIZED_KEYS_H
#define SFK_SSH_AUTHORIZED_KEYS_H

#include <libssh/libssh.h>
#include <stddef.h>
#include <time.h>

#include "sftpkit/sftpkit.h"

typedef enum {
    SFK_AK_OTHER_KEY = 0, /* not this key (or not a key line): look further */
    SFK_AK_ALLOWED,       /* this key, and its options allow this login */
    SFK_AK_DENIED,        /* this key, but from= or expiry-time= say no (why says which) */
    SFK_AK_UNUSABLE,      /* this key, but an option cannot be enforced here (why says which) */
} sfk_ak_verdict;

/* key offered by a client at address addr ("192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7") at
 * time now. why (cap bytes) receives the reason for DENIED and UNUSABLE. */
sfk_ak_verdict sfk_ak_check(const char *line, ssh_key key, const char *addr, time_t now, char *why, size_t cap);

/* sfk_ak_check for a login of user, logging why a line with this key did not let it in.
 * 1 when the line allows the login. */
int sfk_ak_allows_logged(sftpkit_server *s, const char *user, const char *line, ssh_key key, const char *addr);

/* Can every option of the line be enforced? 0, or -1 with the reason in why. A line without a
 * key (blank, comment) is fine. */
int sfk_ak_validate(const char *line, char *why, size_t cap);

/* from= pattern list ("10.0.0.0/8,!10.1.*,192.0.2.7") against addr: 1 allowed, 0 not. */
int sfk_ak_from_allows(const char *patterns, const char *addr);

/* expiry-time= value ("YYYYMMDD[HHMM[SS]]", local time, or UTC with a trailing Z) in seconds
 * since 1970; -1 when malformed. */
long long sfk_ak_parse_expiry(const char *value);

#endif
