/* Authentication decisions. The library's own verdict (the user_* list, authorized keys, OTP)
 * is what a handler sees first in the by-ref `accept`, so a handler that does nothing keeps the
 * built-in behaviour and may overrule it either way. */
#include "ssh/auth.h"

#include <libssh/server.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/config.h"
#include "api/context.h"
#include "api/errors.h"
#include "api/events.h"
#include "api/events_gen.h"
#include "api/props.h"
#include "api/server.h"
#include "ssh/authorized_keys.h"
#include "ssh/keys.h"
#include "ssh/totp_replay.h"
#include "util/log.h"
#include "util/otp.h"

enum { AT_PUBLICKEY = 0x02, AT_PASSWORD = 0x04, AT_KEYBOARD = 0x10 };

void sfk_auth_init(sfk_auth *a, sftpkit_server *s, int64_t connection_id)
{
    memset(a, 0, sizeof *a);
    a->server = s;
    a->connection_id = connection_id;
    int64_t types = sfk_prop_int(s, SFK_P_AUTH_TYPES, -1);
    if (types & AT_PUBLICKEY)
        a->offered |= SSH_AUTH_METHOD_PUBLICKEY;
    if (types & AT_PASSWORD)
        a->offered |= SSH_AUTH_METHOD_PASSWORD;
    if (types & AT_KEYBOARD)
        a->offered |= SSH_AUTH_METHOD_INTERACTIVE;
    a->required = sfk_config_int(s, SFK_CFG_AUTHMODE) == 1 ? a->offered : 0;
    a->max_failures = (int)sfk_config_int(s, SFK_CFG_MAXAUTHTRIES);
}

/* The old password of a pending change: wiped, it is a secret. */
static void forget_old_password(sfk_auth *a)
{
    if (a->old_password)
        OPENSSL_cleanse(a->old_password, strlen(a->old_password));
    free(a->old_password);
    a->old_password = NULL;
    a->kbd_change = 0;
}

void sfk_auth_clear(sfk_auth *a)
{
    free(a->username);
    free(a->client_key_algorithm);
    free(a->client_key_fingerprint);
    forget_old_password(a);
    memset(a, 0, sizeof *a);
}

int64_t sfk_find_user(sftpkit_server *s, const char *username)
{
    int64_t n = sfk_list_count(s, SFK_LIST_USER);
    for (int64_t i = 0; i < n; i++) {
        char *name = sfk_prop_str(s, SFK_P_USER_USERNAME, i);
        int match = name && !strcmp(name, username);
        free(name);
        if (match)
            return i;
    }
    return -1;
}

static int method_type(int method)
{
    return method == SSH_AUTH_METHOD_PUBLICKEY  ? AT_PUBLICKEY
           : method == SSH_AUTH_METHOD_PASSWORD ? AT_PASSWORD
                                                : AT_KEYBOARD;
}

/* on_auth_attempt may veto before any check. */
static int attempt_allowed(sfk_auth *a, const char *user, int method)
{
    int accept = 1;
    sfk_fire_on_auth_attempt(a->server, a->connection_id, user, method_type(method), &accept);
    return accept;
}

/* Records the outcome of one method and turns it into the SSH answer. */
static int conclude(sfk_auth *a, const char *user, int method, int accepted)
{
    if (!accepted) {
        sfk_fire_on_auth_failed(a->server, a->connection_id, user, method_type(method));
        a->failures++;
        sfk_log(a->server, SFK_LOG_INFO, "auth", "connection %lld: %s failed for \"%s\" (%d)",
                (long long)a->connection_id, method == SSH_AUTH_METHOD_PUBLICKEY ? "publickey" : "password", user,
                a->failures);
        if (a->failures >= a->max_failures)
            a->too_many = 1;
        else if (a->on_failure) /* the transport's per-source penalty: delay, perhaps a ban */
            a->on_failure(a);
        else /* no transport (unit tests): a growing delay per connection, capped at 2 s */
            usleep((useconds_t)(a->failures * 200000 > 2000000 ? 2000000 : a->failures * 200000));
        return SSH_AUTH_DENIED;
    }
    if (a->username && strcmp(a->username, user)) { /* all-of must be one user */
        a->done = 0;
    }
    free(a->username);
    a->username = strdup(user);
    a->done |= method;
    if (a->required && (a->done & a->required) != a->required)
        return SSH_AUTH_PARTIAL;
    a->authenticated = 1;
    sfk_fire_on_auth_succeeded(a->server, a->connection_id, user, method_type(method));
    return SSH_AUTH_SUCCESS;
}

/* Constant-time equality for secrets. */
static int secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

static int password_verdict(sftpkit_server *s, const char *user, const char *password)
{
    int64_t i = sfk_find_user(s, user);
    if (i < 0)
        return 0;
    char *expected = sfk_prop_str(s, SFK_P_USER_PASSWORD, i);
    int ok = expected && *expected && secret_equal(expected, password);
    free(expected);
    return ok;
}

/* ForceChangePassword over SSH's password method: the password-change request
 * (USERAUTH_PASSWD_CHANGEREQ) cannot be sent from a libssh 0.10 server, so the attempt is refused
 * instead of letting the old password through; keyboard-interactive carries the change. */
static int refused_for_password_change(sfk_auth *a, const char *user, int force_change)
{
    if (force_change)
        sfk_log(a->server, SFK_LOG_INFO, "auth",
                "connection %lld: \"%s\" must change the password, which only a keyboard-interactive password "
                "login can do; this login refused",
                (long long)a->connection_id, user);
    return force_change;
}

/* The handler's starting value of ForceChangePassword: ssh_settings_request_password_change. */
static int change_requested(sftpkit_server *s)
{
    return sfk_prop_int(s, SFK_P_SSH_SETTINGS_REQUEST_PASSWORD_CHANGE, -1) != 0;
}

int sfk_auth_password(sfk_auth *a, const char *user, const char *password, int method)
{
    if (a->too_many) /* past the limit: the connection is closing; nothing more is tried */
        return SSH_AUTH_DENIED;
    if (!(a->offered & method) || !attempt_allowed(a, user, method))
        return conclude(a, user, method, 0);
    int accept = password_verdict(a->server, user, password), force_change = change_requested(a->server);
    sfk_fire_on_auth_password(a->server, a->connection_id, user, password, &accept, &force_change);
    if (accept && force_change && method == SSH_AUTH_METHOD_INTERACTIVE) {
        forget_old_password(a);
        if (!(a->old_password = strdup(password)))
            return conclude(a, user, method, 0);
        a->kbd_change = 1;
        return SFK_AUTH_CHANGE_PASSWORD; /* no verdict yet: the new password decides */
    }
    return conclude(a, user, method, accept && !refused_for_password_change(a, user, force_change));
}

/* The second keyboard-interactive round of a forced change. Entries that differ, are empty or
 * repeat the old password fail the login (as PAM's passwd does) rather than re-prompt, so a
 * client cannot loop here. */
int sfk_auth_kbd_new_password(sfk_auth *a, const char *user, const char *new_password, const char *retyped)
{
    if (a->too_many)
        return SSH_AUTH_DENIED;
    if (!a->kbd_change || !a->old_password)
        return conclude(a, user, SSH_AUTH_METHOD_INTERACTIVE, 0);
    const char *why = !*new_password                                ? "the new password is empty"
                      : !secret_equal(new_password, retyped)        ? "the two new passwords differ"
                      : secret_equal(new_password, a->old_password) ? "the new password equals the old one"
                                                                    : NULL;
    forget_old_password(a);
    int accept = !why;
    if (accept)
        sfk_fire_on_auth_password_change(a->server, a->connection_id, user, new_password, &accept);
    else
        sfk_log(a->server, SFK_LOG_INFO, "auth", "connection %lld: password change of \"%s\" refused: %s",
                (long long)a->connection_id, user, why);
    if (accept) {
        int64_t i = sfk_find_user(a->server, user);
        if (i >= 0 && sfk_prop_put_str(a->server, SFK_P_USER_PASSWORD, i, new_password))
            accept = 0; /* out of memory: keeping the old password and letting the user in would lie */
        else
            sfk_log(a->server, SFK_LOG_INFO, "auth", "connection %lld: \"%s\" changed the password",
                    (long long)a->connection_id, user);
    }
    return conclude(a, user, SSH_AUTH_METHOD_INTERACTIVE, accept);
}

/* Is key one of the authorized_keys lines in the user's user_ssh_key, with options that allow
 * this client now (ssh/authorized_keys.c)? */
static int key_authorized(sftpkit_server *s, const char *user, ssh_key key, const char *address)
{
    int64_t i = sfk_find_user(s, user);
    if (i < 0)
        return 0;
    uint8_t *lines = NULL;
    size_t len = 0;
    if (sfk_prop_bytes(s, SFK_P_USER_SSH_KEY, i, &lines, &len) || !len)
        return free(lines), 0;
    char *text = malloc(len + 1), *save = NULL;
    int found = 0;
    if (text) {
        memcpy(text, lines, len);
        text[len] = '\0';
        for (char *line = strtok_r(text, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save))
            found = sfk_ak_allows_logged(s, user, line, key, address);
    }
    free(text);
    free(lines);
    return found;
}

int sfk_auth_public_key(sfk_auth *a, const char *user, ssh_key key, int state)
{
    if (a->too_many) /* past the limit: the connection is closing; nothing more is tried */
        return SSH_AUTH_DENIED;
    if (!(a->offered & SSH_AUTH_METHOD_PUBLICKEY))
        return SSH_AUTH_DENIED;
    int authorized = key_authorized(a->server, user, key, a->client_address);
    if (state == SSH_PUBLICKEY_STATE_NONE) {
        /* The probe ("would you take this key?"): say yes when the list has it or a handler may
         * decide; the real verdict comes with the signature. */
        return authorized || sfk_event_wanted(a->server, SFTPKIT_EVENT_ON_AUTH_PUBLIC_KEY) ? SSH_AUTH_SUCCESS
                                                                                           : SSH_AUTH_DENIED;
    }
    if (state != SSH_PUBLICKEY_STATE_VALID) /* WRONG or ERROR: never accepted (notes, pitfall 2) */
        return conclude(a, user, SSH_AUTH_METHOD_PUBLICKEY, 0);
    if (!attempt_allowed(a, user, SSH_AUTH_METHOD_PUBLICKEY))
        return conclude(a, user, SSH_AUTH_METHOD_PUBLICKEY, 0);
    sfk_key_info info = {0};
    sfk_key_describe(key, &info);
    char *b64 = NULL, *line = NULL;
    if (ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK && info.algorithm) {
        size_t n = strlen(info.algorithm) + strlen(b64) + 2;
        if ((line = malloc(n)) != NULL)
            snprintf(line, n, "%s %s", info.algorithm, b64);
    }
    ssh_string_free_char(b64);
    /* key_* describe this connection's offered key to its own on_auth_public_key only: they go
     * into a context frame that this thread's next dispatch hands to the handler */
    sfk_evctx_frame frame;
    sfk_evctx_push_prepared(a->server, &frame);
    sfk_prop_put_str(a->server, SFK_P_KEY_FINGERPRINT_SHA1, -1, info.fingerprint_sha1 ? info.fingerprint_sha1 : "");
    sfk_prop_put_str(a->server, SFK_P_KEY_FINGERPRINT_SHA256, -1,
                     info.fingerprint_sha256 ? info.fingerprint_sha256 : "");
    int accept = authorized;
    sfk_fire_on_auth_public_key(a->server, a->connection_id, user, &accept, info.algorithm ? info.algorithm : "",
                                info.fingerprint_sha256 ? info.fingerprint_sha256 : "", line ? line : "");
    sfk_evctx_pop(&frame);
    free(line);
    if (accept && info.algorithm) {
        free(a->client_key_algorithm);
        free(a->client_key_fingerprint);
        a->client_key_algorithm = strdup(info.algorithm);
        a->client_key_fingerprint = strdup(info.fingerprint_sha256);
        a->client_key_bits = info.bits;
    }
    sfk_key_info_clear(&info);
    return conclude(a, user, SSH_AUTH_METHOD_PUBLICKEY, accept);
}

/* A user with a shared secret authenticates keyboard-interactive with a one-time password. */
static int is_otp_user(sftpkit_server *s, int64_t i)
{
    uint8_t *secret = NULL;
    size_t len = 0;
    sfk_prop_bytes(s, SFK_P_USER_SHARED_SECRET, i, &secret, &len);
    free(secret);
    return len > 0;
}

const char *sfk_auth_kbd_prompt(sfk_auth *a, const char *user)
{
    int64_t i = sfk_find_user(a->server, user);
    forget_old_password(a); /* a new request starts over, even after an unfinished change */
    a->kbd_otp = i >= 0 && is_otp_user(a->server, i);
    return a->kbd_otp ? "One-time password: " : "Password: ";
}

/* Moves user i's HOTP counter past used, unless another connection already has: one check and
 * one write under the server lock, so two connections answering with one code at once cannot
 * both get in. */
static int hotp_claim(sftpkit_server *s, int64_t i, int64_t used)
{
    sfk_lock(s);
    sfk_value *slot = sfk_value_slot(s, SFK_P_USER_OTP_VALUE, i);
    int ok = slot && slot->i <= used;
    if (ok)
        slot->i = used + 1;
    sfk_unlock(s);
    return ok;
}

/* step_start: the step's first second (step number × interval), so steps stay comparable when
 * the application changes the user's interval. */
static int totp_claim(sftpkit_server *s, int64_t i, int64_t step_start)
{
    char *user = sfk_prop_str(s, SFK_P_USER_USERNAME, i);
    int ok = user && sfk_totp_claim(s, user, step_start);
    free(user);
    return ok;
}

/* Checks an OTP: HOTP accepts the counter and a look-ahead of 3 and advances the counter past
 * the match (so a code works once); TOTP accepts one step either side of now, each step once
 * and never one older than the last accepted (ssh/totp_replay.c). */
static int otp_verdict(sftpkit_server *s, int64_t i, const char *answer)
{
    uint8_t *secret = NULL;
    size_t len = 0;
    if (sfk_prop_bytes(s, SFK_P_USER_SHARED_SECRET, i, &secret, &len) || !len)
        return free(secret), 0;
    char *hash = sfk_prop_str(s, SFK_P_USER_HASH_ALGORITHM, i);
    int64_t algorithm = sfk_prop_int(s, SFK_P_USER_OTP_ALGORITHM, i);
    int64_t value = sfk_prop_int(s, SFK_P_USER_OTP_VALUE, i);
    int digits = (int)sfk_prop_int(s, SFK_P_USER_PASSWORD_LEN, i);
    if (digits == 0)
        digits = 6;
    int ok = 0;
    char code[11];
    if (algorithm == 0) {
        /* k bounded so value + k + 1 (the counter after a match) cannot overflow: a counter at
         * the top of the range accepts nothing rather than a code it could never retire */
        for (int64_t k = 0; k < 4 && value <= INT64_MAX - 1 - k && !ok; k++)
            if (!sfk_otp_generate(secret, len, hash, (uint64_t)(value + k), digits, code) && secret_equal(code, answer))
                ok = hotp_claim(s, i, value + k) ? 1 : -1; /* -1: another connection used it first */
        ok = ok > 0;
    } else {
        int64_t step = value > 0 ? value : 30, now = (int64_t)time(NULL) / step;
        for (int64_t t = now - 1; t <= now + 1 && !ok; t++)
            if (!sfk_otp_generate(secret, len, hash, (uint64_t)t, digits, code) && secret_equal(code, answer))
                ok = totp_claim(s, i, t * step) ? 1 : -1; /* -1: this step's code was used already */
        ok = ok > 0;
    }
    free(hash);
    free(secret);
    return ok;
}

int sfk_auth_kbd_answer(sfk_auth *a, const char *user, const char *answer)
{
    if (a->too_many) /* past the limit: the connection is closing; nothing more is tried */
        return SSH_AUTH_DENIED;
    if (!a->kbd_otp)
        return sfk_auth_password(a, user, answer, SSH_AUTH_METHOD_INTERACTIVE);
    if (!(a->offered & SSH_AUTH_METHOD_INTERACTIVE) || !attempt_allowed(a, user, SSH_AUTH_METHOD_INTERACTIVE))
        return conclude(a, user, SSH_AUTH_METHOD_INTERACTIVE, 0);
    int64_t i = sfk_find_user(a->server, user);
    int accept = i >= 0 && otp_verdict(a->server, i, answer), force_change = 0;
    sfk_fire_on_auth_password(a->server, a->connection_id, user, answer, &accept, &force_change);
    return conclude(a, user, SSH_AUTH_METHOD_INTERACTIVE,
                    accept && !refused_for_password_change(a, user, force_change));
}

char *sfk_auth_session_root(sfk_auth *a)
{
    int64_t i = a->username ? sfk_find_user(a->server, a->username) : -1;
    char *root = i >= 0 ? sfk_prop_str(a->server, SFK_P_USER_BASE_PATH, i) : NULL;
    if (root && *root)
        return root;
    free(root);
    return sfk_prop_str(a->server, SFK_P_BASE_DIR, -1);
}
