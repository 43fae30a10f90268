/* Authentication decisions for one connection: which methods are offered, the user_* list,
 * events (on_auth_attempt, on_auth_password, on_auth_public_key, on_auth_succeeded,
 * on_auth_failed), one-time passwords, AuthMode all-of, and the failed-attempt limit. Internal. */
#ifndef SFK_AUTH_H
#define SFK_AUTH_H

#include <libssh/libssh.h>
#include <stdint.h>

#include "sftpkit/sftpkit.h"

typedef struct sfk_auth_s {
    sftpkit_server *server;
    int64_t connection_id;
    int offered;       /* SSH_AUTH_METHOD_* the server offers */
    int required;      /* AuthMode=1: every offered method; else 0 (any one) */
    int done;          /* methods passed so far (all-of) */
    char *username;    /* the user authenticated (or being authenticated, all-of) */
    int authenticated; /* 1 once the user is in */
    int failures;      /* failed attempts on this connection */
    int too_many;      /* the limit was reached: the connection must close */
    int max_failures;  /* MaxAuthTries */
    /* Called after each failure below the limit (may sleep, may set too_many); NULL = a local
     * growing delay. The transport shares the penalty across one address's connections. */
    void (*on_failure)(struct sfk_auth_s *a);
    void *on_failure_ctx;
    int kbd_otp;        /* the pending keyboard-interactive prompt asks for a one-time password */
    int kbd_change;     /* the pending prompt asks for a new password, twice (a forced change) */
    char *old_password; /* while kbd_change: the accepted password, so the new one must differ */
    char *client_key_algorithm, *client_key_fingerprint; /* of an accepted public key */
    int client_key_bits;
    const char *client_address; /* for authorized_keys from= (owned by the connection) */
} sfk_auth;

void sfk_auth_init(sfk_auth *a, sftpkit_server *s, int64_t connection_id);
void sfk_auth_clear(sfk_auth *a);

/* Each returns SSH_AUTH_SUCCESS, SSH_AUTH_PARTIAL or SSH_AUTH_DENIED and fires the events. */
int sfk_auth_password(sfk_auth *a, const char *user, const char *password, int auth_type);
int sfk_auth_public_key(sfk_auth *a, const char *user, ssh_key key, int signature_state);
/* Keyboard-interactive: the prompt to show (static string) and the answer's verdict. */
const char *sfk_auth_kbd_prompt(sfk_auth *a, const char *user);
int sfk_auth_kbd_answer(sfk_auth *a, const char *user, const char *answer);

/* A verdict of sfk_auth_kbd_answer beyond libssh's SSH_AUTH_*: the password was right but the
 * handler (ForceChangePassword) or ssh_settings_request_password_change wants it changed. The
 * transport then sends SFK_AUTH_CHANGE_PROMPTS and hands both answers to
 * sfk_auth_kbd_new_password, as OpenSSH does with PAM for an expired password. */
enum { SFK_AUTH_CHANGE_PASSWORD = 1000 };
#define SFK_AUTH_CHANGE_INSTRUCTION "Password change required"
#define SFK_AUTH_CHANGE_PROMPT_NEW "New password: "
#define SFK_AUTH_CHANGE_PROMPT_RETYPE "Retype new password: "
/* The verdict on the second round: both entries equal, non-empty, not the old password, and
 * on_auth_password_change accepts; then user_password is updated (a user of the list). */
int sfk_auth_kbd_new_password(sfk_auth *a, const char *user, const char *new_password, const char *retyped);

/* The session root for the authenticated user: user_base_path, else base_dir (malloc'd). */
char *sfk_auth_session_root(sfk_auth *a);
/* The user's index in the user_* list, or -1. */
int64_t sfk_find_user(sftpkit_server *s, const char *username);

#endif
