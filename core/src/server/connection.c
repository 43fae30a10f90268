/* One connection's thread: it owns the ssh_session from the handshake to the last byte.
 * Phases: handshake (bounded by ssh_settings_handshake_timeout) -> authentication and the sftp
 * subsystem request (callbacks, same deadline) -> the SFTP loop (engine bytes in, replies out) ->
 * an orderly close. Events: on_connect, on_session_established, on_session_closed, on_disconnect,
 * on_error, in that order. */
#include <errno.h>
#include <inttypes.h>
#include <libssh/callbacks.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/config.h"
#include "api/errors.h"
#include "api/events_gen.h"
#include "api/props.h"
#include "api/server.h"
#include "server/channel_gather.h"
#include "server/channel_window.h"
#include "server/close_codes.h"
#include "server/runtime.h"
#include "server/throttle.h"
#include "sftp/engine.h"
#include "ssh/algorithms.h"
#include "ssh/auth.h"
#include "ssh/external_keys.h"
#include "ssh/host_keys.h"
#include "ssh/keys.h"
#include "util/audit.h"
#include "util/log.h"
#include "util/metrics.h"

typedef struct {
    sfk_conn *c;
    ssh_session session;
    sfk_auth auth;
    ssh_channel channel;
    int sftp_requested;
    int strict_kex;
    int gex_bits;           /* the group-exchange modulus libssh chose (its log only), 0 = none */
    char gex_unmatched[64]; /* the client's group-exchange range that no allowed group fits */
    char *negotiated[10];   /* libssh's "Negotiated k,hk,enc,enc,mac,mac,comp,comp,lang,lang" */
    char *kex_lines;
    char *kbd_user;       /* the user of the pending keyboard-interactive request (responses carry none) */
    char why_text[400];   /* a composed close reason */
    int window_violation; /* the client sent channel data past the window we advertised */
    int banned;           /* this connection's failure got its address banned */
    struct ssh_server_callbacks_struct server_cb;
    struct ssh_channel_callbacks_struct channel_cb;
} conn_state;

static const char DROPPED[] = "dropped by the server", DROPPED_FORCED[] = "dropped by the server (forced)";
static const char DRAINED[] = "the server is stopping";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sfk_quick_ack(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* ---- libssh's thread-local log: the only source of a few negotiated facts (notes, section A) -- */

static void append_line(char **text, const char *line)
{
    size_t old = *text ? strlen(*text) : 0, add = strlen(line);
    char *grown = realloc(*text, old + add + 2);
    if (!grown)
        return;
    memcpy(grown + old, line, add);
    grown[old + add] = '\n';
    grown[old + add + 1] = '\0';
    *text = grown;
}

/* libssh 0.10.6 reports an ordinary client hang-up as warnings (the socket's EOF, then our
 * disconnect-message query). The server logs "connection lost" itself at INFO, so these go to
 * DEBUG: a warning in the application's log should mean something is wrong. */
static int routine_end_of_connection(const char *function, const char *buffer)
{
    if (!function)
        return 0;
    if (!strcmp(function, "ssh_socket_exception_callback"))
        return strstr(buffer, "Socket exception callback: 1 (0)") || strstr(buffer, "Socket error: disconnected");
    return !strcmp(function, "ssh_get_disconnect_message") && strstr(buffer, "Connection not closed yet");
}

static void log_callback(int priority, const char *function, const char *buffer, void *userdata)
{
    conn_state *st = userdata;
    if (!st)
        return;
    /* libssh keeps data past the channel window ("Let's accept it anyway") and would buffer a
     * misbehaving client's flood up to its 256 MiB cap, also while our thread waits in a write.
     * This line is the only sign of it: end the connection now, from inside libssh's processing,
     * so at most the packets already read are held. shutdown() on our own socket is safe; the
     * thread's next I/O fails and the close reason says why. */
    if (!st->window_violation && strstr(buffer, "Data packet too big for our window")) {
        st->window_violation = 1;
        if (st->c->fd >= 0)
            shutdown(st->c->fd, SHUT_RDWR);
    }
    /* Login latency: OpenSSH's client leaves Nagle on for sftp, so a second small packet in a row
     * (ECDH_INIT after KEXINIT) waits until the first is ACKed, and with nothing to answer the
     * server's kernel delays that ACK by ~40 ms. Every packet libssh reads during the handshake
     * (this line is logged at TRACE, the level until login) gets its ACK at once instead. */
    if (st->c->fd >= 0 && function && !strcmp(function, "ssh_packet_socket_callback") &&
        strstr(buffer, "packet: read type"))
        sfk_quick_ack(st->c->fd);
    const char *neg = strstr(buffer, "Negotiated ");
    if (neg) {
        char *copy = strdup(neg + strlen("Negotiated ")), *save = NULL;
        int i = 0;
        for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && i < 10; tok = strtok_r(NULL, ",", &save)) {
            free(st->negotiated[i]);
            st->negotiated[i++] = strdup(tok);
        }
        free(copy);
    } else if (!*st->gex_unmatched && strstr(buffer, "No moduli found for [")) {
        /* libssh only logs it and leaves the client waiting for a group until the handshake
         * timeout: end the connection now, with the reason (dh-gex.c, ssh_retrieve_dhgroup_file) */
        snprintf(st->gex_unmatched, sizeof st->gex_unmatched, "%.60s", strstr(buffer, "No moduli found for [") + 20);
        if (st->c->fd >= 0)
            shutdown(st->c->fd, SHUT_RDWR);
    } else if (strstr(buffer, "bits modulus out of")) { /* dh-gex.c: "Selected N bits modulus out of" */
        const char *sel = strstr(buffer, "Selected ");
        int bits = 0;
        if (sel && sscanf(sel, "Selected %d bits", &bits) == 1 && bits > 0 && bits <= 16384)
            st->gex_bits = bits;
    } else if (strstr(buffer, "supports strict kex")) {
        st->strict_kex = 1;
    } else if (function && strstr(function, "ssh_list_kex")) {
        /* libssh lists our own KEXINIT when it sends it and the client's when it arrives; each
         * list starts with "kex algos:". kex_lines is the received one, so a new list replaces. */
        const char *line = strstr(buffer, ": ") ? strstr(buffer, ": ") + 2 : buffer;
        if (!strncmp(line, "kex algos:", 10)) {
            free(st->kex_lines);
            st->kex_lines = NULL;
        }
        append_line(&st->kex_lines, line);
    }
    if (priority <= SSH_LOG_WARN && !routine_end_of_connection(function, buffer))
        sfk_log(st->c->server, SFK_LOG_WARNING, "ssh", "connection %" PRId64 ": %s", st->c->id, buffer);
    else if (priority <= SSH_LOG_WARN)
        sfk_log(st->c->server, SFK_LOG_DEBUG, "ssh", "connection %" PRId64 ": %s", st->c->id, buffer);
    else
        sfk_log(st->c->server, SFK_LOG_TRACE, "ssh", "connection %" PRId64 ": %s", st->c->id, buffer);
}

/* ---- authentication and channel callbacks --------------------------------------------------- */

static int remaining_methods(sfk_auth *a)
{
    return a->required ? a->required & ~a->done : a->offered;
}

/* MaxSessionsPerUser, checked and recorded under the runtime lock so two logins racing cannot
 * both take the last place. A refused login counts as a failed attempt. */
static int admit_user(conn_state *st, int verdict)
{
    sfk_conn *c = st->c;
    struct sfk_runtime *rt = c->rt;
    if (verdict != SSH_AUTH_SUCCESS || !st->auth.username)
        return verdict;
    int max = rt->limits.max_per_user, others = 0;
    pthread_mutex_lock(&rt->lock);
    for (sfk_conn *d = rt->conns; d && max > 0; d = d->next)
        others += d != c && !atomic_load(&d->closed) && !atomic_load(&d->gone) && atomic_load(&d->authenticated) &&
                  !strcmp(d->user, st->auth.username);
    int refused = max > 0 && others >= max;
    if (!refused) {
        snprintf(c->user, sizeof c->user, "%s", st->auth.username);
        atomic_store(&c->authenticated, 1);
    }
    pthread_mutex_unlock(&rt->lock);
    if (!refused)
        return verdict;
    sfk_log(c->server, SFK_LOG_INFO, "server",
            "connection %" PRId64 ": login of \"%s\" refused: MaxSessionsPerUser (%d) reached", c->id,
            st->auth.username, max);
    sfk_metrics_admission(c->server, "max_sessions_per_user");
    st->auth.authenticated = 0;
    st->auth.done = 0;
    if (++st->auth.failures >= st->auth.max_failures)
        st->auth.too_many = 1;
    return SSH_AUTH_DENIED;
}

/* Metrics (and the audit log) of one authentication attempt. */
static void count_login(conn_state *st, sfk_login_method method, const char *user, int verdict)
{
    sfk_login_result r = verdict == SSH_AUTH_SUCCESS   ? SFK_LOGIN_SUCCESS
                         : verdict == SSH_AUTH_PARTIAL ? SFK_LOGIN_PARTIAL
                                                       : SFK_LOGIN_FAILURE;
    sfk_metrics_login(st->c->server, method, r);
    if (sfk_audit_enabled(st->c->server)) {
        static const char *const methods[] = {"password", "publickey", "keyboard-interactive"};
        sfk_audit_record a = {.operation = "login",
                              .connection_id = st->c->id,
                              .user = user,
                              .address = st->c->address,
                              .port = st->c->port,
                              .method = methods[method],
                              .bytes_read = -1,
                              .bytes_written = -1,
                              .status = r == SFK_LOGIN_SUCCESS   ? "ok"
                                        : r == SFK_LOGIN_PARTIAL ? "partial"
                                                                 : "failure"};
        sfk_audit(st->c->server, &a);
    }
}

static int after_verdict(conn_state *st, int verdict) /* verdict: already through admit_user */
{
    if (verdict == SSH_AUTH_PARTIAL || verdict == SSH_AUTH_DENIED)
        ssh_set_auth_methods(st->session, remaining_methods(&st->auth));
    return verdict;
}

static int on_password(ssh_session session, const char *user, const char *password, void *userdata)
{
    (void)session;
    conn_state *st = userdata;
    int verdict = admit_user(st, sfk_auth_password(&st->auth, user, password, SSH_AUTH_METHOD_PASSWORD));
    count_login(st, SFK_LOGIN_PASSWORD, user, verdict);
    return after_verdict(st, verdict);
}

static int on_pubkey(ssh_session session, const char *user, struct ssh_key_struct *pubkey, char signature_state,
                     void *userdata)
{
    (void)session;
    conn_state *st = userdata;
    int verdict = admit_user(st, sfk_auth_public_key(&st->auth, user, pubkey, signature_state));
    if (signature_state != SSH_PUBLICKEY_STATE_NONE) /* a probe ("would this key do?") is no login */
        count_login(st, SFK_LOGIN_PUBLICKEY, user, verdict);
    return after_verdict(st, verdict);
}

static int on_subsystem(ssh_session session, ssh_channel channel, const char *subsystem, void *userdata)
{
    (void)session, (void)channel;
    conn_state *st = userdata;
    if (!st->auth.authenticated || strcmp(subsystem, "sftp"))
        return 1; /* refused */
    st->sftp_requested = 1;
    return 0;
}

static ssh_channel on_channel_open(ssh_session session, void *userdata)
{
    conn_state *st = userdata;
    if (st->channel || !st->auth.authenticated)
        return NULL; /* one session channel per connection */
    st->channel = ssh_channel_new(session);
    if (!st->channel)
        return NULL;
    memset(&st->channel_cb, 0, sizeof st->channel_cb);
    st->channel_cb.userdata = st;
    st->channel_cb.channel_subsystem_request_function = on_subsystem;
    ssh_callbacks_init(&st->channel_cb);
    ssh_set_channel_callbacks(st->channel, &st->channel_cb);
    return st->channel;
}

/* Keyboard-interactive has no server callback in libssh 0.10: the message callback serves it. */
static int on_message(ssh_session session, ssh_message msg, void *userdata)
{
    conn_state *st = userdata;
    if (ssh_message_type(msg) != SSH_REQUEST_AUTH || ssh_message_subtype(msg) != SSH_AUTH_METHOD_INTERACTIVE)
        return 1; /* libssh's default reply */
    if (!(st->auth.offered & SSH_AUTH_METHOD_INTERACTIVE))
        return 1;
    if (!ssh_message_auth_kbdint_is_response(msg)) {
        const char *user = ssh_message_auth_user(msg);
        if (!user)
            return 1;
        free(st->kbd_user);
        st->kbd_user = strdup(user);
        const char *prompt = sfk_auth_kbd_prompt(&st->auth, user);
        char echo = 0;
        ssh_message_auth_interactive_request(msg, "", "", 1, &prompt, &echo);
        return 0;
    }
    /* an INFO_RESPONSE names no user: it answers the request this connection last prompted */
    const char *user = st->kbd_user;
    if (!user)
        return 1;
    int verdict;
    if (st->auth.kbd_change) { /* the answers to "New password:" and "Retype new password:" */
        const char *fresh =
            ssh_userauth_kbdint_getnanswers(session) == 2 ? ssh_userauth_kbdint_getanswer(session, 0) : NULL;
        const char *again = fresh ? ssh_userauth_kbdint_getanswer(session, 1) : NULL;
        verdict = admit_user(st, sfk_auth_kbd_new_password(&st->auth, user, fresh ? fresh : "", again ? again : ""));
    } else {
        const char *answer =
            ssh_userauth_kbdint_getnanswers(session) >= 1 ? ssh_userauth_kbdint_getanswer(session, 0) : "";
        verdict = admit_user(st, sfk_auth_kbd_answer(&st->auth, user, answer ? answer : ""));
    }
    if (verdict == SFK_AUTH_CHANGE_PASSWORD) { /* right password, but it must change: a second round */
        const char *prompts[2] = {SFK_AUTH_CHANGE_PROMPT_NEW, SFK_AUTH_CHANGE_PROMPT_RETYPE};
        char echo[2] = {0, 0};
        ssh_message_auth_interactive_request(msg, "", SFK_AUTH_CHANGE_INSTRUCTION, 2, prompts, echo);
        return 0;
    }
    count_login(st, SFK_LOGIN_KBDINT, user, verdict);
    if (verdict == SSH_AUTH_SUCCESS) {
        ssh_message_auth_reply_success(msg, 0);
    } else if (verdict == SSH_AUTH_PARTIAL) {
        ssh_message_auth_set_methods(msg, remaining_methods(&st->auth));
        ssh_message_auth_reply_success(msg, 1);
    } else {
        ssh_message_auth_set_methods(msg, remaining_methods(&st->auth));
        ssh_message_reply_default(msg);
    }
    return 0;
}

/* UseStrictKeyExchange=2: without strict kex, a connection may continue only if neither direction
 * uses an algorithm Terrapin (CVE-2023-48795) affects: ChaCha20-Poly1305, or an encrypt-then-MAC
 * MAC with a non-AEAD cipher (with AES-GCM the MAC is not used). */
static int terrapin_affected(const conn_state *st)
{
    for (int dir = 0; dir < 2; dir++) {
        const char *cipher = st->negotiated[2 + dir], *mac = st->negotiated[4 + dir];
        if (!cipher)
            return 1; /* unknown: refuse rather than guess */
        if (strstr(cipher, "chacha20-poly1305"))
            return 1;
        if (!strstr(cipher, "gcm") && mac && strstr(mac, "-etm@openssh.com"))
            return 1;
    }
    return 0;
}

/* A failed attempt below MaxAuthTries: the penalty of the source address, shared by all of its
 * connections (so 25 parallel connections guess no faster than one), then perhaps a ban. The
 * delay sleeps this connection's thread only, in short naps so a drop still ends it promptly. */
static void penalize(sfk_auth *a)
{
    conn_state *st = a->on_failure_ctx;
    sfk_conn *c = st->c;
    struct sfk_runtime *rt = c->rt;
    int banned = 0;
    int64_t delay = sfk_penalty_fail(&rt->penalty, &rt->limits, c->address, sfk_now_ms(), &banned);
    if (banned) {
        sfk_log(c->server, SFK_LOG_INFO, "server",
                "connection %" PRId64 ": %s is banned for %" PRId64 " s after %" PRId64
                " failed authentication attempts (SourceBanThreshold)",
                c->id, c->address, rt->limits.ban_ms / 1000, rt->limits.ban_threshold);
        sfk_metrics_admission(c->server, "source_ban");
        st->banned = 1;
        a->too_many = 1;
        return;
    }
    if (delay > 0)
        sfk_metrics_admission(c->server, "auth_failure_delay");
    for (int64_t end = sfk_now_ms() + delay; sfk_now_ms() < end && !atomic_load(&c->drop);)
        usleep(20000);
}

int sfk_conn_handle_quota(void *conn, int delta)
{
    sfk_conn *c = conn;
    struct sfk_runtime *rt = c->rt;
    if (delta < 0) {
        atomic_fetch_sub(&c->handles, 1);
        atomic_fetch_sub(&rt->fds.handles, 1);
        return 0;
    }
    pthread_mutex_lock(&rt->lock);
    int ok = atomic_load(&rt->fds.handles) < rt->fds.handle_cap;
    int64_t mine = 0;
    for (sfk_conn *d = rt->conns; d && ok; d = d->next)
        if (!atomic_load(&d->closed) && !strcmp(d->user, c->user))
            mine += atomic_load(&d->handles);
    ok = ok && mine < rt->fds.user_cap;
    if (ok) {
        atomic_fetch_add(&c->handles, 1);
        atomic_fetch_add(&rt->fds.handles, 1);
    }
    pthread_mutex_unlock(&rt->lock);
    if (!ok)
        sfk_log(c->server, SFK_LOG_DEBUG, "server", "connection %" PRId64 ": OPEN refused: %s", c->id,
                mine >= rt->fds.user_cap ? "MaxOpenHandlesPerUser reached" : "MaxOpenHandles reached");
    return ok ? 0 : -1;
}

/* keepalive@openssh.com with want-reply, without blocking: ssh_send_keepalive waits for the reply
 * for the session timeout, so the wait is shortened to 10 ms and the reply, whenever it comes, is
 * seen as inbound bytes. A request still pending is not sent again (libssh has one at a time). */
static void send_keepalive(ssh_session session)
{
    long zero = 0, short_wait = 10000;
    ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &zero);
    ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &short_wait);
    /* Twice: a first call may only collect the previous probe's reply and send nothing (or, on
     * a fast link, send and collect one; then the second is an extra probe, which is harmless). */
    ssh_send_keepalive(session);
    ssh_send_keepalive(session);
    ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &zero);
}

/* ---- phases -------------------------------------------------------------------------------- */

static void set_session_options(conn_state *st, sftpkit_server *s, long timeout_s)
{
    ssh_options_set(st->session, SSH_OPTIONS_TIMEOUT, &timeout_s);
    char *list = sfk_prop_str(s, SFK_P_SSH_SETTINGS_COMPRESSION_ALGORITHMS, -1), *message = NULL;
    char *resolved = list ? sfk_algorithms_resolve("compression", list, &message) : NULL;
    int force =
        sfk_prop_int(s, SFK_P_FORCE_COMPRESSION, -1) || sfk_prop_int(s, SFK_P_SSH_SETTINGS_FORCE_COMPRESSION, -1);
    if (resolved && force && strstr(resolved, "zlib")) { /* drop "none" so only compression remains */
        char *none = strstr(resolved, "none,");
        if (none)
            memmove(none, none + 5, strlen(none + 5) + 1);
    }
    if (resolved) {
        ssh_options_set(st->session, SSH_OPTIONS_COMPRESSION_C_S, resolved);
        ssh_options_set(st->session, SSH_OPTIONS_COMPRESSION_S_C, resolved);
    }
    free(list), free(message), free(resolved);
}

/* Two properties say the same; ssh_settings_compression_level wins when it was changed. */
static void set_compression_level(conn_state *st, sftpkit_server *s)
{
    int level = (int)sfk_prop_int(s, SFK_P_SSH_SETTINGS_COMPRESSION_LEVEL, -1);
    if (level == sfk_props[SFK_P_SSH_SETTINGS_COMPRESSION_LEVEL].default_i)
        level = (int)sfk_prop_int(s, SFK_P_COMPRESSION_LEVEL, -1);
    if (level < 1)
        level = 1; /* libssh refuses 0 (and would keep its default, 7): 1 is the least it does */
    ssh_options_set(st->session, SSH_OPTIONS_COMPRESSION_LEVEL, &level);
}

/* Runs until the user is authenticated and has asked for the sftp subsystem, or fails.
 * Returns 0 on success, else a reason for on_error / the close reason. */
static const char *authenticate(conn_state *st, int64_t deadline)
{
    sfk_conn *c = st->c;
    ssh_event ev = ssh_event_new();
    if (!ev)
        return "out of memory";
    ssh_event_add_session(ev, st->session);
    const char *why = NULL;
    while (!(st->auth.authenticated && st->sftp_requested)) {
        if (atomic_load(&c->drop)) {
            why = DROPPED;
            break;
        }
        if (atomic_load(&c->drain)) { /* stop() is draining: nothing to finish before login */
            why = DRAINED;
            break;
        }
        if (st->auth.too_many) {
            why = "too many failed authentication attempts";
            break;
        }
        if (deadline && now_ms() > deadline) {
            why = "handshake timeout";
            break;
        }
        if (ssh_event_dopoll(ev, 100) == SSH_ERROR || (ssh_get_status(st->session) & (SSH_CLOSED | SSH_CLOSED_ERROR))) {
            why = "closed by the client";
            break;
        }
    }
    ssh_event_remove_session(ev, st->session);
    ssh_event_free(ev);
    return why;
}

static int64_t cipher_bits(const char *name)
{
    if (!name)
        return 0;
    if (strstr(name, "chacha20") || strstr(name, "256"))
        return 256;
    if (strstr(name, "192"))
        return 192;
    if (strstr(name, "128"))
        return 128;
    if (strstr(name, "3des"))
        return 168;
    return 0;
}

static int64_t kex_bits(const char *name)
{
    static const struct {
        const char *part;
        int64_t bits;
    } table[] = {{"curve25519", 256}, {"nistp256", 256}, {"nistp384", 384}, {"nistp521", 521},
                 {"group18", 8192},   {"group16", 4096}, {"group14", 2048}, {"group1-", 1024}};
    for (size_t i = 0; name && i < sizeof table / sizeof *table; i++)
        if (strstr(name, table[i].part))
            return table[i].bits;
    return 0;
}

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

/* Publishes what pin_client reports (under the runtime lock). */
static void publish_info(conn_state *st)
{
    sfk_conn *c = st->c;
    sfk_pin_info *i = &c->info;
    const char *hk = st->negotiated[1];
    sfk_key_info server_key = {0};
    ssh_key keys[16];
    int n = sfk_host_keys_snapshot(c->server, keys, 16);
    for (int k = 0; k < n; k++) {
        sfk_key_info info;
        if (!sfk_key_describe(keys[k], &info)) {
            int match =
                hk && (!strcmp(info.algorithm, hk) || (strstr(hk, "rsa") && !strcmp(info.algorithm, "ssh-rsa")));
            if (match && !server_key.algorithm)
                server_key = info;
            else
                sfk_key_info_clear(&info);
        }
        ssh_key_free(keys[k]);
    }
    pthread_mutex_lock(&c->rt->lock);
    set_str(&i->client_software, ssh_get_clientbanner(st->session));
    set_str(&i->kex_algorithm, st->negotiated[0] ? st->negotiated[0] : ssh_get_kex_algo(st->session));
    set_str(&i->public_key_algorithm, hk);
    set_str(&i->cipher_in, st->negotiated[2] ? st->negotiated[2] : ssh_get_cipher_in(st->session));
    set_str(&i->cipher_out, st->negotiated[3] ? st->negotiated[3] : ssh_get_cipher_out(st->session));
    set_str(&i->mac_in, ssh_get_hmac_in(st->session));
    set_str(&i->mac_out, ssh_get_hmac_out(st->session));
    set_str(&i->compression_in, st->negotiated[6]);
    set_str(&i->compression_out, st->negotiated[7]);
    set_str(&i->kex_lines, st->kex_lines);
    set_str(&i->server_key_fingerprint, server_key.fingerprint_sha256);
    set_str(&i->client_key_algorithm, st->auth.client_key_algorithm);
    set_str(&i->client_key_fingerprint, st->auth.client_key_fingerprint);
    i->client_key_bits = st->auth.client_key_bits;
    i->server_key_bits = server_key.bits;
    i->kex_bits =
        i->kex_algorithm && strstr(i->kex_algorithm, "group-exchange") ? st->gex_bits : kex_bits(i->kex_algorithm);
    i->key_bits_in = cipher_bits(i->cipher_in);
    i->key_bits_out = cipher_bits(i->cipher_out);
    pthread_mutex_unlock(&c->rt->lock);
    sfk_key_info_clear(&server_key);
}

/* How long one channel read may wait. 200 ms lets a drop, a drain or a limit change take effect
 * promptly; but every idle session waking five times a second cost 19 % of a core for 2000 idle
 * sessions (bench/sessions-scale). After 10 s without channel data and with no file open the wait
 * grows to 500 ms (the upper end of what the design allows for those reactions), never beyond
 * half of DropGraceTime (a graceful drop still gets its turn before it would be forced), the
 * idle timeout or the keepalive interval. */
static int read_wait_ms(const sfk_limits *lim, sfk_engine *engine, int64_t quiet_ms, int64_t idle_limit)
{
    if (quiet_ms < 10000 || sfk_engine_has_open_files(engine))
        return 200;
    int64_t wait = 500;
    if (lim->drop_grace_ms > 0 && lim->drop_grace_ms / 2 < wait)
        wait = lim->drop_grace_ms / 2;
    if (idle_limit > 0 && idle_limit - quiet_ms < wait)
        wait = idle_limit - quiet_ms;
    if (lim->alive_interval_ms > 0 && lim->alive_interval_ms / 2 < wait)
        wait = lim->alive_interval_ms / 2;
    return wait < 200 ? 200 : (int)wait;
}

/* Sends the engine's queued replies (consuming them may queue more). NULL, or why it failed. */
static const char *send_replies(conn_state *st, sfk_engine *engine, sfk_throttle *out)
{
    sfk_conn *c = st->c;
    size_t len;
    const uint8_t *data;
    while ((data = sfk_engine_output(engine, &len)) && len) {
        atomic_store(&c->writing, 1); /* the watchdog ends it if nothing moves for socket_timeout */
        int w = ssh_channel_write(st->channel, data, (uint32_t)len);
        atomic_store(&c->writing, 0);
        if (w <= 0)
            return "connection lost";
        sfk_engine_consume(engine, (size_t)w);
        sfk_metrics_bytes(c->server, 0, (uint64_t)w);
        sfk_throttle_account(out, (size_t)w, &c->drop);
    }
    return NULL;
}

/* The SFTP loop. Returns NULL when the client closed normally, else the reason. */
static const char *serve_sftp(conn_state *st)
{
    sfk_conn *c = st->c;
    sftpkit_server *s = c->server;
    char *root = sfk_auth_session_root(&st->auth);
    sfk_engine_config cfg = {.server = s,
                             .connection_id = c->id,
                             .username = st->auth.username,
                             .root = root,
                             .handle_quota = sfk_conn_handle_quota,
                             .quota_ctx = c,
                             .client_banner = ssh_get_clientbanner(st->session),
                             .cancel = &c->drop,
                             .stopping = &c->rt->stopping,
                             .address = c->address,
                             .port = c->port};
    sfk_engine *engine = sfk_engine_new(&cfg);
    free(root);
    if (!engine)
        return "the SFTP engine could not start";
    size_t size = sfk_engine_read_size(engine);
    uint8_t *buf = malloc(size);
    int64_t user = sfk_find_user(s, st->auth.username);
    sfk_throttle in, out;
    sfk_throttle_init(&in, sfk_prop_int(s, SFK_P_SOCKET_INCOMING_SPEED_LIMIT, -1),
                      user >= 0 ? sfk_prop_int(s, SFK_P_USER_INCOMING_SPEED_LIMIT, user) : 0);
    sfk_throttle_init(&out, sfk_prop_int(s, SFK_P_SOCKET_OUTGOING_SPEED_LIMIT, -1),
                      user >= 0 ? sfk_prop_int(s, SFK_P_USER_OUTGOING_SPEED_LIMIT, user) : 0);
    int64_t idle_limit = sfk_prop_int(s, SFK_P_SOCKET_TIMEOUT, -1), last_data = now_ms();
    /* keepalive: probes go out after ClientAliveInterval without inbound bytes (the client's
     * answer, or anything else it sends, counts as life) */
    const sfk_limits *lim = &c->rt->limits;
    uint64_t seen_in = __atomic_load_n(&c->socket_counter.in_bytes, __ATOMIC_RELAXED);
    int64_t heard = now_ms(), probed = 0;
    int probes = 0;
    sfk_channel_window window; /* the engine's read size is also the channel window wanted */
    sfk_channel_window_init(&window, (uint32_t)size);
    /* Bulk data (the last read was at least half a packet): let libssh take in up to 256 KiB that
     * already waits before each read, so WRITE data reaches pwrite in large pieces (measured:
     * 36 600 -> 8 100 pwrite per GiB uploaded, no more polls or recvs). Without the event
     * (out of memory) reads are as before. */
    ssh_event gather = ssh_event_new();
    if (gather && ssh_event_add_session(gather, st->session) != SSH_OK)
        ssh_event_free(gather), gather = NULL;
    int last = 0;
    const char *why = buf ? NULL : "out of memory";
    while (!why) {
        if (atomic_load(&c->drop)) {
            why = DROPPED;
            break;
        }
        if (atomic_load(&c->drain) && !sfk_engine_has_open_files(engine)) {
            why = DRAINED; /* stop() is draining and this session's transfers are done */
            break;
        }
        /* Parallel requests (config WorkerThreads): while the session's bound is reached, read
         * nothing and send replies as handlers finish; while some are out, read in short turns. */
        if (!sfk_engine_wants_input(engine)) {
            sfk_engine_poll(engine, 50);
            last_data = now_ms();
            why = send_replies(st, engine, &out);
            /* still notice a client that hangs up meanwhile (its pending requests are then
             * cancelled): polling handles packets but leaves channel data in libssh's buffer,
             * which the window we advertised bounds. A non-blocking poll that finds no new packet
             * returns 0 even after an EOF seen earlier, hence ssh_channel_is_eof too. */
            int avail = why ? 0 : ssh_channel_poll_timeout(st->channel, 0, 0);
            if (avail == SSH_ERROR)
                why = "connection lost";
            else if (avail == SSH_EOF || ssh_channel_is_eof(st->channel) || ssh_channel_is_closed(st->channel))
                break; /* the client is done */
            continue;
        }
        int busy = sfk_engine_poll(engine, 0); /* replies may have become ready meanwhile */
        if ((why = send_replies(st, engine, &out)) != NULL)
            break;
        if (gather && last >= 16384)
            sfk_channel_gather(gather, st->channel, 256 * 1024);
        int n = ssh_channel_read_timeout(st->channel, buf, sfk_channel_window_count(&window), 0,
                                         busy ? 2 : read_wait_ms(lim, engine, now_ms() - last_data, idle_limit));
        last = n;
        if (n == SSH_ERROR) {
            why = "connection lost";
            break;
        }
        sfk_channel_window_read(&window, n > 0 ? (uint32_t)n : 0);
        if (n == 0) {
            if (ssh_channel_is_eof(st->channel) || ssh_channel_is_closed(st->channel)) {
                sfk_log(s, SFK_LOG_DEBUG, "server", "connection %" PRId64 ": the client closed the channel (%s)", c->id,
                        ssh_channel_is_eof(st->channel) ? "eof" : "closed");
                break; /* the client is done */
            }
            if (busy) { /* the server is working for the client: not idle */
                last_data = now_ms();
                continue;
            }
            sfk_engine_idle(engine); /* a whole read wait without data */
            if (idle_limit > 0 && now_ms() - last_data >= idle_limit)
                why = "idle timeout";
            uint64_t in = __atomic_load_n(&c->socket_counter.in_bytes, __ATOMIC_RELAXED);
            if (in != seen_in)
                seen_in = in, heard = now_ms(), probes = 0;
            if (!why && lim->alive_interval_ms > 0 && now_ms() - heard >= lim->alive_interval_ms &&
                now_ms() - probed >= lim->alive_interval_ms) {
                if (probes >= lim->alive_count_max) {
                    why = "keepalive timeout (ClientAliveInterval, ClientAliveCountMax)";
                } else {
                    send_keepalive(st->session);
                    probes++, probed = now_ms();
                }
            }
            continue;
        }
        last_data = now_ms();
        sfk_metrics_bytes(s, (uint64_t)n, 0);
        sfk_throttle_account(&in, (size_t)n, &c->drop);
        if (sfk_engine_input(engine, buf, (size_t)n) < 0) {
            why = "SFTP protocol error";
            sfk_fire_on_error(s, sftpkit_last_error_code(), sftpkit_last_error_message());
        }
        const char *lost = send_replies(st, engine, &out);
        if (lost && !why)
            why = lost;
    }
    if (gather) {
        ssh_event_remove_session(gather, st->session);
        ssh_event_free(gather);
    }
    free(buf);
    sfk_engine_free(engine);
    int left = atomic_exchange(&c->handles, 0); /* none, unless a close path forgot one */
    if (left)
        atomic_fetch_sub(&c->rt->fds.handles, left);
    return why;
}

/* Ends the session in the order OpenSSH expects (notes, pitfall 9): exit-status, EOF and CLOSE
 * on the channel, then let the client hang up (libssh marks a channel closed as soon as *we* send
 * CLOSE, so the wait is on the session), and only then disconnect. Closing first makes clients
 * such as paramiko fail writing their own CHANNEL_CLOSE. wait_ms is shorter when the server is the
 * one ending the session. */
static void close_session(conn_state *st, const char *reason, int wait_ms)
{
    if (st->channel && !ssh_channel_is_closed(st->channel)) {
        ssh_channel_request_send_exit_status(st->channel, 0);
        ssh_channel_send_eof(st->channel);
        ssh_channel_close(st->channel);
    }
    /* Without a channel there is no close handshake to wait for; waiting would only serve more
     * requests (a client that keeps guessing passwords after the failure limit). */
    ssh_event ev = st->channel ? ssh_event_new() : NULL;
    if (ev && ssh_event_add_session(ev, st->session) == SSH_OK) {
        int64_t until = now_ms() + wait_ms;
        while (now_ms() < until && !(ssh_get_status(st->session) & (SSH_CLOSED | SSH_CLOSED_ERROR)) &&
               ssh_event_dopoll(ev, 50) != SSH_ERROR)
            ;
        ssh_event_remove_session(ev, st->session);
    }
    if (ev)
        ssh_event_free(ev);
    ssh_session_set_disconnect_message(st->session, reason ? reason : "Bye");
    ssh_disconnect(st->session);
}

void *sfk_connection_main(void *arg)
{
    sfk_conn *c = arg;
    sftpkit_server *s = c->server;
    struct sfk_runtime *rt = c->rt;
    conn_state st = {.c = c};
    sfk_runtime_set_current(c);
    sfk_ext_sign_set_thread(s, c->id); /* host-key signatures (KEX and re-keys) made on this thread */
    sfk_auth_init(&st.auth, s, c->id);
    st.auth.on_failure = penalize;
    st.auth.on_failure_ctx = &st;
    st.auth.client_address = c->address;
    ssh_set_log_userdata(&st);
    ssh_set_log_callback(log_callback);
    ssh_set_log_level(SSH_LOG_TRACE); /* handshake only: lowered once the session is up */
    sfk_fire_on_connect(s, c->id, c->address, c->port);
    const char *why = NULL;
    int established = 0;
    int64_t started = now_ms(), timeout = rt->handshake_timeout_s;
    int64_t deadline = timeout > 0 ? started + timeout * 1000 : 0;
    st.session = ssh_new();
    if (!st.session) {
        why = "out of memory";
        goto done;
    }
    set_session_options(&st, s, timeout > 0 ? (long)timeout : 0);
    pthread_mutex_lock(&rt->bind_lock);
    int rc = rt->bind ? ssh_bind_accept_fd(rt->bind, st.session, c->fd) : SSH_ERROR; /* NULL once stopped */
    pthread_mutex_unlock(&rt->bind_lock);
    if (rc != SSH_OK) {
        why = "the SSH session could not be set up";
        goto done;
    }
    ssh_set_counters(st.session, &c->socket_counter, &c->raw_counter);
    set_compression_level(&st, s); /* after the accept, which resets the session's level */
    st.server_cb = (struct ssh_server_callbacks_struct){.userdata = &st,
                                                        .auth_password_function = on_password,
                                                        .auth_pubkey_function = on_pubkey,
                                                        .channel_open_request_session_function = on_channel_open};
    ssh_callbacks_init(&st.server_cb);
    ssh_set_server_callbacks(st.session, &st.server_cb);
    ssh_set_message_callback(st.session, on_message, &st);
    ssh_set_auth_methods(st.session, remaining_methods(&st.auth));
    int kex = ssh_handle_key_exchange(st.session);
    atomic_store(&c->in_kex, 0);
    if (kex != SSH_OK) {
        /* libssh's error names the algorithm kind without a match ("no match for method ..."); the
         * client itself usually only sees the connection close, so the server must tell */
        const char *detail = ssh_get_error(st.session);
        if (deadline && now_ms() > deadline - 50)
            why = "handshake timeout";
        else if (detail && *detail)
            snprintf(st.why_text, sizeof st.why_text, "key exchange failed: %s", detail), why = st.why_text;
        else
            why = "key exchange failed";
        goto done;
    }
    int strict = (int)sfk_config_int(s, SFK_CFG_USESTRICTKEYEXCHANGE);
    if (strict == 3 && !st.strict_kex) {
        why = "the client does not support strict key exchange (UseStrictKeyExchange=3)";
        goto done;
    }
    if (strict == 2 && !st.strict_kex && terrapin_affected(&st)) {
        why = "the client does not support strict key exchange and the negotiated cipher or MAC is affected by "
              "Terrapin (UseStrictKeyExchange=2)";
        goto done;
    }
    publish_info(&st); /* key exchange is done: pin_client works from the first auth event on */
    why = authenticate(&st, deadline);
    if (why)
        goto done;
    long no_timeout = 0; /* the option is also channel I/O's timeout (pitfall 3) */
    ssh_options_set(st.session, SSH_OPTIONS_TIMEOUT, &no_timeout);
    ssh_set_log_level(SSH_LOG_WARN);
    publish_info(&st); /* again: now with the client key that authenticated */
    established = 1;
    sfk_fire_on_session_established(s, c->id);
    why = serve_sftp(&st);
done:;
    const char *sign_failure = sfk_ext_sign_take_failure(); /* an external signature broke the (re-)KEX */
    if (sign_failure) {
        snprintf(st.why_text, sizeof st.why_text, "key exchange failed: %.360s", sign_failure);
        why = st.why_text;
    }
    /* A drop is the reason whatever the I/O saw after it (a forced drop looks like a lost link). */
    int dropped = atomic_load(&c->drop), forced = dropped == SFK_DROP_FORCED;
    if (dropped)
        why = forced ? DROPPED_FORCED : DROPPED;
    else if (*st.gex_unmatched) /* the shutdown() made it look like a lost link */
        snprintf(st.why_text, sizeof st.why_text,
                 "key exchange failed: no Diffie-Hellman group for the client's range %s (min:preferred:max) within "
                 "MinDHGroupSize..MaxDHGroupSize, CustomDHGroupIndex",
                 st.gex_unmatched),
            why = st.why_text;
    else if (st.window_violation) /* the shutdown() made it look like a lost link */
        why = "protocol violation: channel data past the window the server advertised";
    else if (atomic_load(&c->stalled))
        why = "write timeout: the client stopped reading (socket_timeout)";
    else if (st.banned)
        why = "the address is banned after repeated authentication failures";
    int cut = forced || st.window_violation || atomic_load(&c->stalled); /* nothing more can be sent */
    if (st.session) {
        if (!cut && ssh_is_connected(st.session))
            close_session(&st, why, why ? 200 : 2000);
        /* read after the close: a client's SSH_MSG_DISCONNECT arrives after its channel EOF */
        const char *client_reason = ssh_get_disconnect_message(st.session);
        pthread_mutex_lock(&rt->lock);
        set_str(&c->info.close_reason, client_reason ? client_reason : why ? why : "closed by the client");
        pthread_mutex_unlock(&rt->lock);
    }
    if (established)
        sfk_fire_on_session_closed(s, c->id);
    pthread_mutex_lock(&rt->lock);
    int fd = c->fd;
    c->fd = -1; /* from here no other thread may shutdown() this number */
    atomic_store(&c->gone, 1);
    pthread_mutex_unlock(&rt->lock);
    if (st.session)
        ssh_free(st.session); /* closes the socket it was given */
    else
        close(fd);
    sfk_fire_on_disconnect(s, c->id);
    sfk_metrics_connection_closed(s);
    if (why && !dropped && why != DRAINED) { /* a drop or a drain is the application's own doing */
        char text[480];
        snprintf(text, sizeof text, "connection %" PRId64 ": %s", c->id, why);
        sfk_log(s, SFK_LOG_INFO, "server", "%s", text);
        sfk_fire_on_error(s, sfk_close_reason_code(why), text);
    }
    for (int i = 0; i < 10; i++)
        free(st.negotiated[i]);
    free(st.kex_lines);
    free(st.kbd_user);
    sfk_auth_clear(&st.auth);
    ssh_set_log_callback(NULL);
    ssh_set_log_userdata(NULL);
    sfk_ext_sign_set_thread(NULL, 0);
    atomic_store(&c->closed, 1);
    return NULL;
}

void sfk_pin_info_clear(sfk_pin_info *i)
{
    char **fields[] = {&i->client_key_algorithm,
                       &i->client_key_fingerprint,
                       &i->client_software,
                       &i->close_reason,
                       &i->compression_in,
                       &i->compression_out,
                       &i->cipher_in,
                       &i->cipher_out,
                       &i->mac_in,
                       &i->mac_out,
                       &i->kex_algorithm,
                       &i->kex_lines,
                       &i->public_key_algorithm,
                       &i->server_key_fingerprint};
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        free(*fields[f]);
        *fields[f] = NULL;
    }
}
