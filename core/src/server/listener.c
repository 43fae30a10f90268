/* start() and stop(): the listening sockets, the accept thread, and the shared ssh_bind. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/config.h"
#include "api/errors.h"
#include "api/events_gen.h"
#include "api/server.h"
#include "api/start_checks.h"
#include "server/proxy_protocol.h"
#include "server/proxy_receive.h"
#include "server/runtime.h"
#include "ssh/algorithms.h"
#include "ssh/external_sign_provider.h"
#include "ssh/host_keys.h"
#include "ssh/moduli.h"
#include "util/audit.h"
#include "util/log.h"
#include "util/metrics.h"

static struct sfk_runtime *runtime_get_locked(sftpkit_server *s)
{
    if (!s->runtime) {
        struct sfk_runtime *rt = calloc(1, sizeof *rt);
        if (!rt)
            return NULL;
        pthread_mutex_init(&rt->lock, NULL);
        pthread_mutex_init(&rt->bind_lock, NULL);
        pthread_cond_init(&rt->changed, NULL);
        rt->next_id = 1;
        rt->wake[0] = rt->wake[1] = -1;
        rt->fds.spare_fd = -1;
        sfk_penalty_init(&rt->penalty); /* kept across restarts: a ban outlives a stop() */
        rt->rand_state = (unsigned)time(NULL) ^ (unsigned)getpid();
        s->runtime = rt;
    }
    return s->runtime;
}

/* Created on first start (under the server lock: two first start() calls at once must not
 * each make one). */
static struct sfk_runtime *runtime_get(sftpkit_server *s)
{
    sfk_lock(s);
    struct sfk_runtime *got = runtime_get_locked(s);
    sfk_unlock(s);
    return got;
}

/* One listening socket for host:port in family (AF_INET/AF_INET6); v6only for dual listeners. */
static int open_listener(const char *host, int port, int family, int v6only, int *out_fd, int *bound_port)
{
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int gai = getaddrinfo(host && *host ? host : NULL, service, &hints, &res);
    if (gai)
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: cannot resolve host \"%s\" as an %s address%s: %s", host,
                         family == AF_INET6 ? "IPv6" : "IPv4",
                         family == AF_INET6 ? " (socket_use_ipv6 or DualStack is set)" : " (socket_use_ipv6 is off)",
                         gai_strerror(gai));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) {
        freeaddrinfo(res);
        return sfk_error(SFTPKIT_ERROR_IO, "start: socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 512)) {
        int e = errno;
        close(fd);
        freeaddrinfo(res);
        return sfk_error(SFTPKIT_ERROR_IO, "start: cannot listen on %s:%d: %s", host && *host ? host : "*", port,
                         strerror(e));
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    *out_fd = fd;
    return 0;
}

static void peer_of(int fd, char *addr, size_t addr_len, int *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *port = 0;
    snprintf(addr, addr_len, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl))
        return;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, addr, (socklen_t)addr_len);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], addr, (socklen_t)addr_len);
        *port = ntohs(a->sin6_port);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, addr, (socklen_t)addr_len);
        *port = ntohs(a->sin_port);
    }
}

/* Reaps finished connection threads (called with rt->lock held). */
static void reap_closed(struct sfk_runtime *rt)
{
    for (sfk_conn **p = &rt->conns; *p;) {
        sfk_conn *c = *p;
        if (atomic_load(&c->closed)) {
            *p = c->next;
            pthread_join(c->thread, NULL);
            sfk_pin_info_clear(&c->info);
            free(c);
        } else {
            p = &c->next;
        }
    }
}

/* A refused connection is logged, but a flood must not flood the log: at most one line a second,
 * which counts the refusals it stands for. */
static void log_refusal(sftpkit_server *s, struct sfk_runtime *rt, const char *address, int port, const char *why)
{
    int64_t now = sfk_now_ms();
    if (now - rt->refused_logged_ms < 1000) {
        rt->refused_unlogged++;
        return;
    }
    if (rt->refused_unlogged)
        sfk_log(s, SFK_LOG_INFO, "server",
                "connection from %s:%d refused: %s (and %" PRId64 " more refused since the last such line)", address,
                port, why, rt->refused_unlogged);
    else
        sfk_log(s, SFK_LOG_INFO, "server", "connection from %s:%d refused: %s", address, port, why);
    rt->refused_logged_ms = now;
    rt->refused_unlogged = 0;
}

/* Admission control before any thread or SSH work (called with rt->lock held): the reason a new
 * connection from address is refused, or NULL; *action names the limit that acted, for the
 * admission metric. The counts are a walk over the live connections, bounded by MaxConnections. */
#define REFUSE(name, why) return (*action = (name), (why))
static const char *admission_refusal(struct sfk_runtime *rt, const char *address, const char **action)
{
    const sfk_limits *l = &rt->limits;
    if (sfk_penalty_banned(&rt->penalty, address, sfk_now_ms()))
        REFUSE("source_banned", "the address is banned after repeated authentication failures (SourceBanThreshold)");
    int live = 0, unauth = 0, from = 0, from_unauth = 0;
    for (sfk_conn *c = rt->conns; c; c = c->next) {
        if (atomic_load(&c->closed))
            continue;
        int same = !strcmp(c->address, address), pending = !atomic_load(&c->authenticated);
        live++;
        unauth += pending;
        from += same;
        from_unauth += same && pending;
    }
    if (l->max_connections > 0 && live >= l->max_connections)
        REFUSE("max_connections", "MaxConnections reached");
    if (!sfk_fd_budget_connection_fits(&rt->fds, live))
        REFUSE("descriptor_budget", "too few file descriptors left (RLIMIT_NOFILE, FileDescriptorReserve)");
    if (l->max_per_address > 0 && from >= l->max_per_address)
        REFUSE("max_connections_per_address", "MaxConnectionsPerAddress reached");
    if (l->per_source_startups > 0 && from_unauth >= l->per_source_startups)
        REFUSE("per_source_max_startups", "PerSourceMaxStartups reached");
    if (sfk_startups_drop(&l->startups, unauth, (int)(rand_r(&rt->rand_state) % 100)))
        REFUSE("max_startups_drop", "MaxStartups: too many unauthenticated connections");
    return NULL;
}
#undef REFUSE

/* Behind a load balancer: replaces address/port with the ones its PROXY header names, before anything
 * reads them. Returns 0 when the connection must be closed. */
static int proxy_client_address(sftpkit_server *s, struct sfk_runtime *rt, int fd, char *address, size_t address_len,
                                int *port)
{
    char peer[64], why[160];
    int peer_port = *port;
    snprintf(peer, sizeof peer, "%s", address);
    sfk_proxy_verdict v =
        sfk_proxy_receive(fd, rt->wake[0], rt->proxy_mode, rt->proxy_trusted, rt->handshake_timeout_s * 1000, address,
                          address_len, port, why, sizeof why);
    if (v == SFK_PROXY_REFUSE) {
        sfk_log(s, SFK_LOG_INFO, "server", "connection from %s:%d refused: %s", peer, peer_port, why);
        sfk_metrics_connection_refused(s, SFK_REFUSED_PROXY);
        return 0;
    }
    if (v == SFK_PROXY_PROXIED)
        sfk_log(s, SFK_LOG_DEBUG, "server", "connection from %s:%d via %s:%d (%s)", address, *port, peer, peer_port,
                why);
    return 1;
}

static void accept_one(sftpkit_server *s, struct sfk_runtime *rt, int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
            /* Out of descriptors: poll() would report the same pending connection forever. Shed
             * it with the spare descriptor and stop accepting for a while (100 ms doubling to 1 s)
             * until handles or connections close. */
            int shed = sfk_fd_budget_shed(&rt->fds, lfd);
            rt->accept_backoff_ms = rt->accept_backoff_ms ? rt->accept_backoff_ms * 2 : 100;
            if (rt->accept_backoff_ms > 1000)
                rt->accept_backoff_ms = 1000;
            rt->accept_pause_until_ms = sfk_now_ms() + rt->accept_backoff_ms;
            log_refusal(s, rt, "?", 0,
                        shed ? "out of file descriptors (EMFILE/ENFILE): closed at once"
                             : "out of file descriptors (EMFILE/ENFILE)");
        }
        return;
    }
    rt->accept_backoff_ms = 0;
    char address[64];
    int port;
    peer_of(fd, address, sizeof address, &port);
    /* behind a balancer, the real client's address from here on: admission control counts it */
    if (rt->proxy_mode != SFK_PROXY_MODE_OFF && !proxy_client_address(s, rt, fd, address, sizeof address, &port)) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&rt->lock);
    reap_closed(rt);
    const char *action = NULL, *refusal = admission_refusal(rt, address, &action);
    pthread_mutex_unlock(&rt->lock);
    if (refusal) { /* no thread, no SSH: the socket is closed at once */
        log_refusal(s, rt, address, port, refusal);
        sfk_metrics_connection_refused(s, SFK_REFUSED_ADMISSION);
        sfk_metrics_admission(s, action);
        close(fd);
        return;
    }
    sfk_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    snprintf(c->address, sizeof c->address, "%s", address);
    c->port = port;
    /* on_accept runs before any SSH byte is sent, so a veto costs the client nothing. */
    int accept_it = 1;
    sfk_fire_on_accept(s, c->address, c->port, &accept_it);
    if (!accept_it || atomic_load(&rt->stopping)) { /* the handler may have stopped the server */
        sfk_log(s, SFK_LOG_INFO, "server", "connection from %s:%d refused by on_accept%s", c->address, c->port,
                accept_it ? " (the server is stopping)" : "");
        sfk_metrics_connection_refused(s, accept_it ? SFK_REFUSED_STOPPING : SFK_REFUSED_ON_ACCEPT);
        close(fd);
        free(c);
        return;
    }
    c->fd = fd;
    atomic_store(&c->in_kex, 1);
    c->server = s;
    c->rt = rt;
    pthread_mutex_lock(&rt->lock);
    reap_closed(rt);
    c->id = rt->next_id++;
    c->next = rt->conns;
    rt->conns = c;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024); /* small stacks keep 200 idle sessions cheap */
    if (pthread_create(&c->thread, &attr, sfk_connection_main, c)) {
        rt->conns = c->next;
        pthread_mutex_unlock(&rt->lock);
        close(fd);
        free(c);
        sfk_fire_on_error(s, SFTPKIT_ERROR_IO, "cannot start a connection thread");
    } else {
        sfk_metrics_connection_accepted(s); /* before the unlock: the thread's closed must not come first */
        pthread_mutex_unlock(&rt->lock);
    }
    pthread_attr_destroy(&attr);
}

static void *accept_main(void *arg)
{
    sftpkit_server *s = arg;
    struct sfk_runtime *rt = s->runtime;
    struct pollfd pfd[3];
    for (;;) {
        if (atomic_load(&rt->stopping)) /* also after an on_accept handler that called stop() */
            break;
        int n = 0;
        /* during an EMFILE back-off the listening sockets are left out, so poll() sleeps */
        int paused = sfk_now_ms() < rt->accept_pause_until_ms;
        for (int i = 0; i < rt->nlisten; i++)
            pfd[n++] = (struct pollfd){.fd = paused ? -1 : rt->listen_fd[i], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = rt->wake[0], .events = POLLIN};
        /* 250 ms: the watchdog's resolution for stalled writes and overdue graceful drops */
        if (poll(pfd, (nfds_t)n, paused ? 100 : 250) < 0 && errno != EINTR)
            break;
        if (atomic_load(&rt->stopping))
            break;
        for (int i = 0; i < rt->nlisten; i++)
            if (pfd[i].revents & POLLIN)
                accept_one(s, rt, rt->listen_fd[i]);
        pthread_mutex_lock(&rt->lock);
        reap_closed(rt);
        sfk_watchdog_tick(rt, sfk_now_ms());
        pthread_mutex_unlock(&rt->lock);
    }
    return NULL;
}

/* Joins an accept thread that stop() could not join because it ran on it (on_accept). */
static void join_accept_thread(struct sfk_runtime *rt)
{
    if (rt->accept_unjoined) {
        pthread_join(rt->accept_thread, NULL);
        rt->accept_unjoined = 0;
    }
}

/* Applies one resolved algorithm list to the bind. */
static int bind_list(sftpkit_server *s, ssh_bind b, sfk_prop_id prop, const char *kind, int option, int option2)
{
    char *value = sfk_prop_str(s, prop, -1), *message = NULL;
    char *resolved = value ? sfk_algorithms_resolve(kind, value, &message) : NULL;
    int rc = 0;
    if (!resolved)
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: %s: %s", sfk_props[prop].name,
                       message ? message : "invalid");
    else if (ssh_bind_options_set(b, option, resolved) != SSH_OK ||
             (option2 >= 0 && ssh_bind_options_set(b, option2, resolved) != SSH_OK))
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: libssh refused %s \"%s\"", sfk_props[prop].name, resolved);
    free(value);
    free(message);
    free(resolved);
    return rc;
}

static int configure_bind(sftpkit_server *s, ssh_bind b)
{
    int no = 0;
    ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no); /* never /etc/libssh (pitfall 12) */
    ssh_key keys[16];
    int n = sfk_host_keys_snapshot(s, keys, 16);
    if (n == 0)
        return sfk_error(
            SFTPKIT_ERROR_INVALID_SETUP,
            "start: no host key; generate or import an SSHKey and set server_key_count and server_key_handle");
    for (int i = 0; i < n; i++)
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_IMPORT_KEY, keys[i]); /* the bind takes ownership */
    char *banner = sfk_prop_str(s, SFK_P_SSH_SETTINGS_SOFTWARE_NAME, -1);
    if (banner && *banner)
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_BANNER, banner);
    free(banner);
    int rc = bind_list(s, b, SFK_P_SSH_SETTINGS_KEX_ALGORITHMS, "kex", SSH_BIND_OPTIONS_KEY_EXCHANGE, -1);
    if (!rc)
        rc = bind_list(s, b, SFK_P_SSH_SETTINGS_ENCRYPTION_ALGORITHMS, "encryption", SSH_BIND_OPTIONS_CIPHERS_C_S,
                       SSH_BIND_OPTIONS_CIPHERS_S_C);
    if (!rc)
        rc = bind_list(s, b, SFK_P_SSH_SETTINGS_MAC_ALGORITHMS, "mac", SSH_BIND_OPTIONS_HMAC_C_S,
                       SSH_BIND_OPTIONS_HMAC_S_C);
    if (!rc)
        rc = bind_list(s, b, SFK_P_SSH_SETTINGS_PUBLIC_KEY_ALGORITHMS, "public_key",
                       SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES);
    return rc;
}

/* MinDHGroupSize/MaxDHGroupSize/CustomDHGroupIndex: a filtered moduli file for this run of the
 * server, or libssh's own choice when they are at their defaults. */
static int moduli_setup(sftpkit_server *s, struct sfk_runtime *rt, ssh_bind b)
{
    sfk_moduli_limits limits = {.min_bits = sfk_config_int(s, SFK_CFG_MINDHGROUPSIZE),
                                .max_bits = sfk_config_int(s, SFK_CFG_MAXDHGROUPSIZE),
                                .index = sfk_config_int(s, SFK_CFG_CUSTOMDHGROUPINDEX)};
    sfk_moduli_remove(rt->moduli_path);
    rt->moduli_path = NULL;
    if (!sfk_moduli_needed(&limits))
        return 0;
    int rc = sfk_moduli_write(SFK_MODULI_SYSTEM, &limits, &rt->moduli_path);
    if (!rc && ssh_bind_options_set(b, SSH_BIND_OPTIONS_MODULI, rt->moduli_path) != SSH_OK)
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: libssh refused the moduli file");
    if (rc) {
        sfk_moduli_remove(rt->moduli_path);
        rt->moduli_path = NULL;
    }
    return rc;
}

/* ProxyProtocol and its trusted list, checked and kept for the accept thread. */
static int proxy_settings(sftpkit_server *s, struct sfk_runtime *rt)
{
    char *mode = sfk_config_str(s, SFK_CFG_PROXYPROTOCOL), bad[80] = "";
    free(rt->proxy_trusted);
    rt->proxy_trusted = sfk_config_str(s, SFK_CFG_PROXYPROTOCOLTRUSTEDADDRESSES);
    rt->proxy_mode = !mode || !strcmp(mode, "off") ? SFK_PROXY_MODE_OFF
                     : !strcmp(mode, "optional")   ? SFK_PROXY_MODE_OPTIONAL
                                                   : SFK_PROXY_MODE_REQUIRED;
    free(mode);
    if (!rt->proxy_trusted)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    if (sfk_proxy_trust_check(rt->proxy_trusted, bad, sizeof bad))
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                         "start: ProxyProtocolTrustedAddresses: \"%s\" is not an IP address or CIDR range", bad);
    if (rt->proxy_mode != SFK_PROXY_MODE_OFF && !rt->proxy_trusted[strspn(rt->proxy_trusted, " ,\t")])
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                         "start: ProxyProtocol is on but ProxyProtocolTrustedAddresses is empty: name the "
                         "load balancers allowed to send PROXY headers");
    return 0;
}

static int start_now(sftpkit_server *s, struct sfk_runtime *rt)
{
    if (sfk_prop_int(s, SFK_P_ACTIVE, -1))
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "start: the server is already active");
    if (rt->accept_unjoined && pthread_equal(pthread_self(), rt->accept_thread))
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE,
                         "start: cannot restart from the on_accept handler that stopped the server");
    join_accept_thread(rt); /* stopped from on_accept: that thread must be gone before a new one */
    if (sfk_limits_load(s, &rt->limits) || sfk_start_checks(s))
        return sftpkit_last_error_code();
    int proxy_rc = proxy_settings(s, rt);
    if (!proxy_rc)
        proxy_rc = sfk_audit_start(s); /* AuditLog* are read here, like the PROXY settings */
    if (proxy_rc)
        return proxy_rc;
    int external_sign = 0; /* an external host key: the provider preference is held until stop() */
    if (sfk_host_keys_external_setup(s, sfk_prop_int(s, SFK_P_EXTERNAL_CRYPTO_MODE, -1), &external_sign))
        return sftpkit_last_error_code();
    ssh_bind b = ssh_bind_new();
    if (!b) {
        if (external_sign)
            sfk_ext_provider_release();
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "start: ssh_bind_new failed");
    }
    int rc = configure_bind(s, b);
    if (!rc)
        rc = moduli_setup(s, rt, b);
    char *host = NULL;
    int port = 0;
    if (!rc)
        rc = sfk_listen_target(s, &host, &port); /* host/port, or socket_local_address/_port */
    int bound = port;
    int ipv6 = (int)sfk_prop_int(s, SFK_P_SOCKET_USE_IPV6, -1), dual = (int)sfk_config_int(s, SFK_CFG_DUALSTACK);
    rt->nlisten = 0;
    if (!rc) {
        /* IPv6 alone, IPv4 alone, or (DualStack) one v6 socket that also takes v4. */
        int family = ipv6 || dual ? AF_INET6 : AF_INET;
        struct in_addr v4;
        if (dual && !ipv6 && host && inet_pton(AF_INET, host, &v4) == 1)
            family = AF_INET; /* one IPv4 address cannot take IPv6 too: listen on it as asked */
        const char *h = host && *host ? host : (family == AF_INET6 ? "::" : "0.0.0.0");
        rc = open_listener(h, port, family, ipv6 && !dual, &rt->listen_fd[0], &bound);
        if (!rc)
            rt->nlisten = 1;
    }
    free(host);
    if (!rc && pipe2(rt->wake, O_CLOEXEC))
        rc = sfk_error(SFTPKIT_ERROR_IO, "start: pipe: %s", strerror(errno));
    if (rc) {
        for (int i = 0; i < rt->nlisten; i++)
            close(rt->listen_fd[i]);
        rt->nlisten = 0;
        ssh_bind_free(b);
        sfk_moduli_remove(rt->moduli_path);
        rt->moduli_path = NULL;
        if (external_sign)
            sfk_ext_provider_release();
        return rc;
    }
    rt->bind = b;
    rt->handshake_timeout_s = (int)sfk_prop_int(s, SFK_P_SSH_SETTINGS_HANDSHAKE_TIMEOUT, -1);
    sfk_fd_budget_destroy(&rt->fds);
    sfk_fd_budget_init(&rt->fds, s, rt->limits.max_connections);
    rt->accept_pause_until_ms = rt->accept_backoff_ms = 0;
    sfk_log(s, SFK_LOG_DEBUG, "server",
            "file descriptors: limit %" PRId64 ", %" PRId64 " open at start, handles capped at %" PRId64 " (%" PRId64
            " per user)",
            rt->fds.soft, rt->fds.base, rt->fds.handle_cap, rt->fds.user_cap);
    atomic_store(&rt->stopping, 0);
    sfk_prop_put_int(s, SFK_P_PORT, -1, bound); /* port 0 reads back as the port really bound */
    sfk_prop_put_int(s, SFK_P_ACTIVE, -1, 1);
    if (pthread_create(&rt->accept_thread, NULL, accept_main, s)) {
        sfk_prop_put_int(s, SFK_P_ACTIVE, -1, 0);
        close(rt->listen_fd[0]);
        close(rt->wake[0]), close(rt->wake[1]);
        rt->nlisten = 0;
        ssh_bind_free(b);
        rt->bind = NULL;
        sfk_moduli_remove(rt->moduli_path);
        rt->moduli_path = NULL;
        if (external_sign)
            sfk_ext_provider_release();
        return sfk_error(SFTPKIT_ERROR_IO, "start: cannot start the accept thread");
    }
    pthread_mutex_lock(&rt->lock);
    rt->running = 1;
    rt->external_sign = external_sign;
    pthread_mutex_unlock(&rt->lock);
    sfk_log(s, SFK_LOG_INFO, "server", "listening on port %d", bound);
    return sfk_ok();
}

static _Thread_local sfk_conn *current_conn;

/* Is the caller one of rt's own threads (a handler on a connection or the accept thread)? Such
 * a thread is joined by a stop in progress, so it must never wait for one. rt->lock held. */
static int on_server_thread(struct sfk_runtime *rt)
{
    return (current_conn && current_conn->rt == rt) ||
           ((rt->running || rt->accept_unjoined) && pthread_equal(pthread_self(), rt->accept_thread));
}

int sfk_runtime_on_own_thread(sftpkit_server *s)
{
    sfk_lock(s);
    struct sfk_runtime *rt = s->runtime;
    sfk_unlock(s);
    if (!rt)
        return 0;
    pthread_mutex_lock(&rt->lock);
    int own = on_server_thread(rt);
    pthread_mutex_unlock(&rt->lock);
    return own;
}

/* Claims the right to start or stop (one at a time). An application thread waits for the start
 * or stop in progress; a server thread gets 0 at once (see on_server_thread). rt->lock held. */
static int claim_lifecycle(struct sfk_runtime *rt)
{
    while (rt->life_busy) {
        if (on_server_thread(rt))
            return 0;
        pthread_cond_wait(&rt->changed, &rt->lock);
    }
    rt->life_busy = 1;
    return 1;
}

static void release_lifecycle(struct sfk_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    rt->life_busy = 0;
    pthread_cond_broadcast(&rt->changed);
    pthread_mutex_unlock(&rt->lock);
}

SFTPKIT_API int sftpkit_server_start(sftpkit_server *s)
{
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "start: NULL server");
    struct sfk_runtime *rt = runtime_get(s);
    if (!rt)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    pthread_mutex_lock(&rt->lock);
    int claimed = claim_lifecycle(rt);
    pthread_mutex_unlock(&rt->lock);
    if (!claimed)
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "start: the server is being started or stopped");
    int rc = start_now(s, rt);
    release_lifecycle(rt); /* takes no last error: rc's message stays */
    return rc;
}

/* current_conn (above): the connection whose thread is running now (a handler may call stop()):
 * never joined by itself; it ends at its next turn and is reaped later. */

void sfk_runtime_set_current(sfk_conn *c)
{
    current_conn = c;
}

static void request_drop_all(struct sfk_runtime *rt, int how)
{
    pthread_mutex_lock(&rt->lock);
    for (sfk_conn *c = rt->conns; c; c = c->next) {
        atomic_store(&c->drop, how);
        if ((how == SFK_DROP_FORCED || atomic_load(&c->in_kex)) && c->fd >= 0 && c != current_conn)
            shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&rt->lock);
}

static int all_closed(struct sfk_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    int open = 0;
    for (sfk_conn *c = rt->conns; c; c = c->next)
        open += !atomic_load(&c->closed) && c != current_conn;
    pthread_mutex_unlock(&rt->lock);
    return open == 0;
}

/* Joins and frees every connection but the calling thread's own. */
static void join_connections(struct sfk_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    for (sfk_conn **p = &rt->conns; *p;) {
        sfk_conn *c = *p;
        if (c == current_conn) {
            p = &c->next;
            continue;
        }
        *p = c->next;
        pthread_mutex_unlock(&rt->lock);
        pthread_join(c->thread, NULL);
        sfk_pin_info_clear(&c->info);
        free(c);
        pthread_mutex_lock(&rt->lock);
        p = &rt->conns;
    }
    pthread_mutex_unlock(&rt->lock);
}

/* DrainTimeout: with the listeners closed, each connection ends by itself as soon as it has no
 * file open (its own thread checks, between requests); this waits for that up to timeout_ms. */
static void drain(struct sfk_runtime *rt, int64_t timeout_ms)
{
    if (timeout_ms <= 0)
        return;
    pthread_mutex_lock(&rt->lock);
    for (sfk_conn *c = rt->conns; c; c = c->next) {
        atomic_store(&c->drain, 1);
        if (atomic_load(&c->in_kex) && c->fd >= 0 && c != current_conn)
            shutdown(c->fd, SHUT_RDWR); /* nothing to finish before the handshake */
    }
    pthread_mutex_unlock(&rt->lock);
    for (int64_t waited = 0; waited < timeout_ms && !all_closed(rt); waited += 10)
        usleep(10000);
}

SFTPKIT_API int sftpkit_server_stop(sftpkit_server *s)
{
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "stop: NULL server");
    sfk_lock(s);
    struct sfk_runtime *rt = s->runtime;
    sfk_unlock(s);
    if (!rt)
        return sfk_ok();
    /* One stop at a time: a second one from an application thread waits for the first (and then
     * finds nothing to do); one from a handler returns at once, the stop in progress ends it. */
    pthread_mutex_lock(&rt->lock);
    int claimed = claim_lifecycle(rt), running = rt->running;
    if (claimed && !running)
        rt->life_busy = 0;
    pthread_mutex_unlock(&rt->lock);
    if (!claimed || !running)
        return sfk_ok();
    atomic_store(&rt->stopping, 1);
    if (write(rt->wake[1], "x", 1) < 0) { /* the accept thread also polls with a timeout */
    }
    if (pthread_equal(pthread_self(), rt->accept_thread))
        rt->accept_unjoined = 1; /* called by an on_accept handler: the thread ends when the handler
                                    returns; the next start() or the free joins it */
    else
        pthread_join(rt->accept_thread, NULL);
    for (int i = 0; i < rt->nlisten; i++)
        close(rt->listen_fd[i]);
    rt->nlisten = 0;
    drain(rt, sfk_config_int(s, SFK_CFG_DRAINTIMEOUT));
    /* Graceful first (each thread sends a disconnect at its next turn), forced after 0.5 s. */
    request_drop_all(rt, SFK_DROP_GRACEFUL);
    for (int i = 0; i < 50 && !all_closed(rt); i++)
        usleep(10000);
    if (!all_closed(rt))
        request_drop_all(rt, SFK_DROP_FORCED);
    join_connections(rt);
    close(rt->wake[0]);
    close(rt->wake[1]);
    rt->wake[0] = rt->wake[1] = -1;
    pthread_mutex_lock(&rt->bind_lock);
    ssh_bind_free(rt->bind);
    rt->bind = NULL;
    pthread_mutex_unlock(&rt->bind_lock);
    sfk_moduli_remove(rt->moduli_path); /* every connection that could exchange keys is joined */
    rt->moduli_path = NULL;
    if (rt->external_sign)
        sfk_ext_provider_release(); /* every connection that could sign has been joined */
    rt->external_sign = 0;
    sfk_prop_put_int(s, SFK_P_ACTIVE, -1, 0);
    sfk_log(s, SFK_LOG_INFO, "server", "stopped");
    pthread_mutex_lock(&rt->lock);
    rt->running = 0;
    pthread_mutex_unlock(&rt->lock);
    release_lifecycle(rt); /* the last touch of rt: a free waiting for this stop may now go on */
    return sfk_ok();
}

void sfk_runtime_destroy(sftpkit_server *s)
{
    struct sfk_runtime *rt = s->runtime;
    if (!rt)
        return;
    sftpkit_server_stop(s);
    join_accept_thread(rt);
    join_connections(rt); /* one stopped from inside its own handler may still be finishing */
    sfk_fd_budget_destroy(&rt->fds);
    sfk_penalty_destroy(&rt->penalty);
    pthread_mutex_destroy(&rt->lock);
    pthread_mutex_destroy(&rt->bind_lock);
    pthread_cond_destroy(&rt->changed);
    free(rt->proxy_trusted);
    sfk_moduli_remove(rt->moduli_path);
    free(rt);
    s->runtime = NULL;
}
