/* Which order a connection's SSH_FXP_SYMLINK requests carry their two paths in. OpenSSH reads
 * (target, link), the draft says (link, target); some client families send the draft's order to
 * servers that are not OpenSSH (their table is generated from spec/sftpkit.json "symlink_order").
 * Internal. */
#ifndef SFK_SFTP_SYMLINK_ORDER_H
#define SFK_SFTP_SYMLINK_ORDER_H

typedef struct {
    const char *family;
    const char *client;               /* glob over the client's software version */
    const char *const *openssh_order; /* globs over our software name that make it use OpenSSH's order */
} sfk_symlink_client;

/* Terminated by an entry whose family is NULL. */
extern const sfk_symlink_client sfk_symlink_draft_clients[];

/* Forced orders (config SymlinkArgumentOrder). */
enum { SFK_SYMLINK_AUTO = 0, SFK_SYMLINK_OPENSSH = 1, SFK_SYMLINK_DRAFT = 2 };

/* 1 when a client whose identification string is client_banner ("SSH-2.0-AsyncSSH_2.14", or the
 * software version alone), talking to a server whose software name is server_software
 * ("sftpkit_0.1.0"), sends SYMLINK in the draft's order; 0 for OpenSSH's order. NULLs are "". */
int sfk_symlink_client_sends_draft(const char *client_banner, const char *server_software);

/* The table entry that matched (NULL: none), for the log. */
const char *sfk_symlink_client_family(const char *client_banner);

#endif
