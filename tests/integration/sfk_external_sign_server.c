/* sfk-external-sign-server: the external-signing tests' server (public C API only).
 *
 * Host keys given with --external ID:PUBFILE:SIGNER are known to the server only by their public
 * half; their signatures come from this program's on_external_sign handler, which plays the HSM:
 *   SIGNER = a PEM private key file: signed here with OpenSSL (EVP_PKEY_sign on the digest,
 *            EVP_DigestSign for Ed25519) — the key is read by the handler, never by sftpkit;
 *   SIGNER = "cmd:COMMAND": the command runs with SFK_HASH, SFK_DATA (hex), SFK_OPERATION and
 *            SFK_PARS in its environment and prints the signature as hex (the SoftHSM2 test).
 * --fault ID:none|garbage|wrong|short|rekey makes the handler misbehave for that key. Prints
 * {"ready":true,"port":N}, then one JSON line per on_external_sign / on_error / on_disconnect.
 * Commands on stdin: "stop", "start", "quit" (or EOF). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "hex.h"
#include "sftpkit/sftpkit.h"

#define MAX_KEYS 8

typedef struct {
    char id[64];
    EVP_PKEY *priv;    /* the "HSM" key (NULL with a command) */
    const char *cmd;   /* signer command */
    const char *fault; /* NULL, "none", "garbage", "wrong", "short", "rekey" (only the first signature) */
    atomic_int signed_count;
} ext_key;

static ext_key ext[MAX_KEYS];
static int n_ext;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY *wrong_key; /* signs "wrong" signatures: a valid signature by another key */

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&out_lock);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

/* A JSON string body: quotes and backslashes escaped, control bytes dropped (malloc'd). */
static char *json(const char *v)
{
    char *o = malloc(2 * strlen(v ? v : "") + 1), *w = o;
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '"' || *p == '\\')
            *w++ = '\\';
        if ((unsigned char)*p >= 0x20)
            *w++ = *p;
    }
    *w = '\0';
    return o;
}

/* Signs as the document's event asks: digest in (ECDSA, RSA) or the raw data (Ed25519). */
static char *sign_openssl(EVP_PKEY *key, const char *hash, const unsigned char *in, size_t inlen)
{
    unsigned char sig[1024];
    size_t siglen = sizeof sig;
    int ok;
    if (EVP_PKEY_is_a(key, "ED25519")) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        ok = EVP_DigestSignInit(m, NULL, NULL, NULL, key) == 1 && EVP_DigestSign(m, sig, &siglen, in, inlen) == 1;
        EVP_MD_CTX_free(m);
    } else {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
        ok = c && EVP_PKEY_sign_init(c) == 1 &&
             (!EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1) &&
             EVP_PKEY_CTX_set_signature_md(c, EVP_get_digestbyname(hash)) == 1 &&
             EVP_PKEY_sign(c, sig, &siglen, in, inlen) == 1;
        EVP_PKEY_CTX_free(c);
    }
    return ok ? test_hex(sig, siglen) : NULL;
}

static char *sign_command(const char *cmd, const char *hash, const char *data, const char *op, const char *pars)
{
    char *line = malloc(8192);
    setenv("SFK_HASH", hash, 1); /* handlers run concurrently: the lock below covers env + popen */
    setenv("SFK_DATA", data, 1);
    setenv("SFK_OPERATION", op, 1);
    setenv("SFK_PARS", pars, 1);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(line, 8192, p))
        line[0] = '\0';
    if (p)
        pclose(p);
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

static pthread_mutex_t cmd_lock = PTHREAD_MUTEX_INITIALIZER;

static int handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user, (void)s;
    if (id == SFTPKIT_EVENT_ON_ERROR || id == SFTPKIT_EVENT_ON_DISCONNECT) {
        char *d = NULL;
        int64_t code = 0, cid = 0;
        sftpkit_event_get_str(ev, "description", &d);
        sftpkit_event_get_int(ev, "error_code", &code);
        sftpkit_event_get_int(ev, "connection_id", &cid);
        char *j = json(d);
        emit("{\"event\":\"%s\",\"connection_id\":%" PRId64 ",\"error_code\":%" PRId64 ",\"description\":\"%s\"}",
             sftpkit_event_name(id), cid, code, j);
        free(j);
        sftpkit_free(d);
        return 0;
    }
    if (id != SFTPKIT_EVENT_ON_EXTERNAL_SIGN)
        return 0;
    char *op = NULL, *hash = NULL, *pars = NULL, *data = NULL;
    int64_t cid = 0;
    sftpkit_event_get_int(ev, "connection_id", &cid);
    sftpkit_event_get_str(ev, "operation_id", &op);
    sftpkit_event_get_str(ev, "hash_algorithm", &hash);
    sftpkit_event_get_str(ev, "pars", &pars);
    sftpkit_event_get_str(ev, "data", &data);
    const char *key_id = strchr(op, ':') ? strchr(op, ':') + 1 : op;
    ext_key *k = NULL;
    for (int i = 0; i < n_ext; i++)
        if (!strcmp(ext[i].id, key_id))
            k = &ext[i];
    unsigned char in[1024];
    int inlen = test_unhex(data, in, sizeof in);
    char *sig = NULL;
    const char *fault = k ? k->fault : "unknown key";
    if (k && fault && !strcmp(fault, "rekey") && atomic_fetch_add(&k->signed_count, 1) > 0)
        fault = "none"; /* the first key exchange signs, every re-key gets nothing */
    if (k && inlen > 0 && !(fault && !strcmp(fault, "none"))) {
        if (fault && !strcmp(fault, "wrong"))
            sig = sign_openssl(wrong_key, hash, in, (size_t)inlen);
        else if (k->cmd) {
            pthread_mutex_lock(&cmd_lock);
            sig = sign_command(k->cmd, hash, data, op, pars);
            pthread_mutex_unlock(&cmd_lock);
        } else
            sig = sign_openssl(k->priv, hash, in, (size_t)inlen);
        if (sig && fault && !strcmp(fault, "garbage"))
            strcpy(sig, "zz-not-hex");
        if (sig && fault && !strcmp(fault, "short"))
            sig[8] = '\0';
    }
    if (sig)
        sftpkit_event_set_str(ev, "signed_data", sig);
    emit("{\"event\":\"on_external_sign\",\"connection_id\":%" PRId64
         ",\"operation_id\":\"%s\",\"hash_algorithm\":\"%s\",\"pars\":\"%s\",\"data\":\"%s\",\"signed\":%s}",
         cid, op, hash, pars, data, sig ? "true" : "false");
    free(sig);
    sftpkit_free(op), sftpkit_free(hash), sftpkit_free(pars), sftpkit_free(data);
    return 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int fail(const char *what)
{
    fprintf(stderr, "sfk-external-sign-server: %s: %s (%d)\n", what, sftpkit_last_error_message(),
            sftpkit_last_error_code());
    return 1;
}

int main(int argc, char **argv)
{
    sftpkit_server *s = sftpkit_server_new();
    sftpkit_key *keys[MAX_KEYS * 2];
    int n_keys = 0, rc = 0;
    int64_t slots = 0;
    sftpkit_server_set_host(s, "127.0.0.1");
    sftpkit_server_set_port(s, 0);
    sftpkit_server_set_external_crypto_mode(s, 2);
    EVP_PKEY_CTX *wc = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL);
    EVP_PKEY_keygen_init(wc);
    EVP_PKEY_keygen(wc, &wrong_key);
    EVP_PKEY_CTX_free(wc);
    for (int i = 1; i + 1 < argc && !rc; i += 2) {
        const char *a = argv[i];
        char *v = argv[i + 1];
        if (!strcmp(a, "--root"))
            rc = sftpkit_server_set_base_dir(s, v);
        else if (!strcmp(a, "--mode"))
            rc = sftpkit_server_set_external_crypto_mode(s, atoi(v));
        else if (!strcmp(a, "--config")) { /* one config() setting, e.g. PerSourceMaxStartups=64 */
            char *out = NULL;
            rc = sftpkit_server_config(s, v, &out);
            sftpkit_free(out);
        } else if (!strcmp(a, "--pubkey-algs"))
            rc = sftpkit_server_set_ssh_settings_public_key_algorithms(s, v);
        else if (!strcmp(a, "--user")) {
            char *colon = strchr(v, ':');
            *colon = '\0';
            int64_t u = 0;
            sftpkit_server_get_user_count(s, &u);
            sftpkit_server_set_user_count(s, u + 1);
            rc = sftpkit_server_set_user_username(s, u, v);
            if (!rc)
                rc = sftpkit_server_set_user_password(s, u, colon + 1);
        } else if (!strcmp(a, "--user-key")) { /* NAME:PUBFILE, the user must exist (--user first) */
            char *colon = strchr(v, ':'), *line = colon ? read_all(colon + 1) : NULL;
            int64_t count = 0;
            sftpkit_server_get_user_count(s, &count);
            rc = line ? sftpkit_server_set_user_ssh_key(s, count - 1, (const uint8_t *)line, strlen(line)) : 2;
            free(line);
        } else if (!strcmp(a, "--host-key") || !strcmp(a, "--external")) {
            sftpkit_key *k = keys[n_keys++] = sftpkit_key_new();
            int64_t handle = 0;
            if (!strcmp(a, "--host-key"))
                rc = sftpkit_key_import_file(k, v, NULL);
            else {
                char *id = v, *pub = strchr(id, ':'), *signer = pub ? strchr(pub + 1, ':') : NULL;
                if (!signer)
                    return fprintf(stderr, "--external ID:PUBFILE:SIGNER\n"), 2;
                *pub++ = '\0', *signer++ = '\0';
                ext_key *e = &ext[n_ext++];
                snprintf(e->id, sizeof e->id, "%s", id);
                if (!strncmp(signer, "cmd:", 4))
                    e->cmd = signer + 4;
                else {
                    FILE *f = fopen(signer, "r");
                    e->priv = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
                    if (f)
                        fclose(f);
                    if (!e->priv)
                        return fprintf(stderr, "cannot read the signer key %s\n", signer), 2;
                }
                char *line = read_all(pub);
                rc = line ? sftpkit_key_import_external(k, line, id) : (fprintf(stderr, "no %s\n", pub), 2);
                free(line);
            }
            if (!rc)
                rc = sftpkit_key_get_handle(k, &handle);
            if (!rc)
                rc = sftpkit_server_set_server_key_count(s, slots + 1);
            if (!rc)
                rc = sftpkit_server_set_server_key_handle(s, slots++, handle);
        } else if (!strcmp(a, "--fault")) {
            char *colon = strchr(v, ':');
            *colon = '\0';
            for (int j = 0; j < n_ext; j++)
                if (!strcmp(ext[j].id, v))
                    ext[j].fault = colon + 1;
        } else
            return fprintf(stderr, "unknown option %s\n", a), 2;
        if (rc)
            return fail(a);
    }
    sftpkit_server_set_event_handler(s, handler, NULL, NULL);
    int started = sftpkit_server_start(s) == 0;
    if (!started) {
        char *j = json(sftpkit_last_error_message());
        emit("{\"ready\":false,\"error_code\":%d,\"error\":\"%s\"}", sftpkit_last_error_code(), j);
        free(j);
    }
    int64_t port = 0;
    sftpkit_server_get_port(s, &port);
    if (started)
        emit("{\"ready\":true,\"port\":%" PRId64 "}", port);
    char line[256];
    while (started && fgets(line, sizeof line, stdin)) {

        if (!strncmp(line, "quit", 4))
            break;
        if (!strncmp(line, "stop", 4))
            emit("{\"reply\":\"stop\",\"rc\":%d}", sftpkit_server_stop(s));
        else if (!strncmp(line, "start", 5))
            emit("{\"reply\":\"start\",\"rc\":%d}", sftpkit_server_start(s));
    }
    sftpkit_server_free(s);
    for (int i = 0; i < n_keys; i++)
        sftpkit_key_free(keys[i]);
    for (int i = 0; i < n_ext; i++)
        EVP_PKEY_free(ext[i].priv);
    EVP_PKEY_free(wrong_key);
    return started ? 0 : 1;
}
