/* sftpkit-hsm-server: an SFTP server whose host key never leaves a PKCS#11 token.
 *
 *   sftpkit-hsm-server --root DIR --module LIB.so --pin PIN --key-id HEX --public FILE
 *                      [--host 127.0.0.1] [--port 2224] [--user NAME:PASSWORD]...
 *
 * FILE is the token key's public half as an OpenSSH line (the only part sftpkit ever sees). The
 * host key is an external key (sftpkit_key_import_external, external_crypto_mode = 2); every
 * signature is made by on_external_sign below with PKCS#11 calls: ECDSA signs the digest
 * (CKM_ECDSA, r||s turned into DER), RSA signs DigestInfo + digest (CKM_RSA_PKCS), Ed25519 signs
 * the raw exchange hash (CKM_EDDSA). The handler runs on the connection's thread during key
 * exchange, for many connections at once: each signature opens its own PKCS#11 session.
 * Try it with SoftHSM2 (docs/external-signing.md). Without --user it accepts demo / demo. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <p11-kit/pkcs11.h>

#include <sftpkit/sftpkit.h>

static volatile sig_atomic_t stop_requested;
static CK_FUNCTION_LIST_PTR p11;
static CK_SLOT_ID slot;
static const char *pin;
static unsigned char key_id[64];
static size_t key_id_len;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int fail(const char *what)
{
    fprintf(stderr, "sftpkit-hsm-server: %s: %s\n", what, sftpkit_last_error_message());
    return 1;
}

static long unhex(const char *s, unsigned char *out, size_t max)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (long)(n / 2);
}

static char *hex(const unsigned char *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; s && i < n; i++)
        sprintf(s + 2 * i, "%02x", p[i]);
    if (s)
        s[2 * n] = '\0';
    return s;
}

/* PKCS#11 signs ECDSA as r||s; the event wants DER. */
static size_t ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char *der)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL), *s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
    size_t n = 0;
    if (sig && r && s && ECDSA_SIG_set0(sig, r, s)) {
        r = s = NULL; /* owned by sig now */
        unsigned char *p = der;
        n = (size_t)i2d_ECDSA_SIG(sig, &p);
    }
    BN_free(r), BN_free(s);
    ECDSA_SIG_free(sig);
    return n;
}

/* One signature in its own session (handlers run concurrently on connection threads). */
static char *token_sign(const char *scheme, const char *hash, const unsigned char *in, size_t inlen)
{
    static const unsigned char sha256_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    static const unsigned char sha512_info[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
    unsigned char msg[600], sig[1024], der[1100];
    size_t msglen = 0;
    CK_MECHANISM mech = {CKM_EDDSA, NULL, 0};
    if (!strcmp(scheme, "rsa-pkcs1v15")) { /* the signer adds the DigestInfo */
        const unsigned char *info = !strcmp(hash, "SHA512") ? sha512_info : sha256_info;
        memcpy(msg, info, sizeof sha256_info);
        msglen = sizeof sha256_info;
        mech.mechanism = CKM_RSA_PKCS;
    } else if (!strcmp(scheme, "ecdsa-der"))
        mech.mechanism = CKM_ECDSA;
    if (inlen > sizeof msg - msglen)
        return NULL;
    memcpy(msg + msglen, in, inlen);
    msglen += inlen;
    CK_SESSION_HANDLE h;
    if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
        return NULL;
    CK_RV rv = p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    char *out = NULL;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, key_id, key_id_len}};
    CK_OBJECT_HANDLE key;
    CK_ULONG found = 0, siglen = sizeof sig;
    if ((rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) && p11->C_FindObjectsInit(h, find, 2) == CKR_OK) {
        p11->C_FindObjects(h, &key, 1, &found);
        p11->C_FindObjectsFinal(h);
        if (found == 1 && p11->C_SignInit(h, &mech, key) == CKR_OK &&
            p11->C_Sign(h, msg, msglen, sig, &siglen) == CKR_OK)
            out = mech.mechanism == CKM_ECDSA ? hex(der, ecdsa_raw_to_der(sig, siglen, der)) : hex(sig, siglen);
    }
    p11->C_CloseSession(h);
    return out;
}

static int on_event(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user, (void)s;
    if (id != SFTPKIT_EVENT_ON_EXTERNAL_SIGN) {
        if (id == SFTPKIT_EVENT_ON_ERROR) {
            char *d = NULL;
            sftpkit_event_get_str(ev, "description", &d);
            fprintf(stderr, "sftpkit-hsm-server: %s\n", d ? d : "");
            sftpkit_free(d);
        }
        return 0;
    }
    char *hash = NULL, *pars = NULL, *data = NULL;
    sftpkit_event_get_str(ev, "hash_algorithm", &hash);
    sftpkit_event_get_str(ev, "pars", &pars);
    sftpkit_event_get_str(ev, "data", &data);
    unsigned char in[512], scheme[128] = "";
    long inlen = unhex(data, in, sizeof in), plen = unhex(pars, scheme, sizeof scheme - 1);
    if (plen >= 0)
        scheme[plen] = '\0';
    const char *semi = strchr((char *)scheme, ';'); /* pars: "<key algorithm>;<scheme>" */
    char *sig = inlen > 0 && semi ? token_sign(semi + 1, hash, in, (size_t)inlen) : NULL;
    if (sig) /* no signed_data: sftpkit refuses the key exchange and says why in on_error */
        sftpkit_event_set_str(ev, "signed_data", sig);
    free(sig);
    sftpkit_free(hash), sftpkit_free(pars), sftpkit_free(data);
    return 0;
}

static int open_token(const char *module)
{
    void *lib = dlopen(module, RTLD_NOW);
    CK_RV(*get_list)
    (CK_FUNCTION_LIST_PTR_PTR) = lib ? (CK_RV(*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(lib, "C_GetFunctionList") : NULL;
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK}; /* called from many threads */
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    if (!get_list || get_list(&p11) != CKR_OK || p11->C_Initialize(&args) != CKR_OK ||
        p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
        fprintf(stderr, "sftpkit-hsm-server: cannot load the PKCS#11 module %s\n", module);
        return -1;
    }
    for (CK_ULONG i = 0; i < n; i++) { /* the first initialised token */
        CK_TOKEN_INFO info;
        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK && (info.flags & CKF_TOKEN_INITIALIZED)) {
            slot = slots[i];
            return 0;
        }
    }
    fprintf(stderr, "sftpkit-hsm-server: no initialised token behind %s\n", module);
    return -1;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *root = NULL, *module = NULL, *public_file = NULL;
    int64_t port = 2224;
    int users = 0;
    sftpkit_server *s = sftpkit_server_new();
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--host"))
            host = v;
        else if (!strcmp(a, "--port"))
            port = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--root"))
            root = v;
        else if (!strcmp(a, "--module"))
            module = v;
        else if (!strcmp(a, "--pin"))
            pin = v;
        else if (!strcmp(a, "--public"))
            public_file = v;
        else if (!strcmp(a, "--key-id")) {
            long n = unhex(v, key_id, sizeof key_id);
            key_id_len = n > 0 ? (size_t)n : 0;
        } else if (!strcmp(a, "--user")) {
            const char *colon = strchr(v, ':');
            if (!colon)
                return fprintf(stderr, "--user wants NAME:PASSWORD\n"), 2;
            char *name = strndup(v, (size_t)(colon - v));
            if (sftpkit_server_set_user_count(s, users + 1) || sftpkit_server_set_user_username(s, users, name) ||
                sftpkit_server_set_user_password(s, users, colon + 1))
                return fail("--user");
            free(name);
            users++;
        }
    }
    if (!root || !module || !pin || !key_id_len || !public_file) {
        fprintf(stderr,
                "usage: %s --root DIR --module LIB.so --pin PIN --key-id HEX --public FILE [--host H] [--port P] "
                "[--user NAME:PASSWORD]...\n",
                argv[0]);
        return 2;
    }
    if (open_token(module))
        return 1;
    if (!users && (sftpkit_server_set_user_count(s, 1) || sftpkit_server_set_user_username(s, 0, "demo") ||
                   sftpkit_server_set_user_password(s, 0, "demo")))
        return fail("user");
    char line[8192] = "";
    FILE *f = fopen(public_file, "r");
    if (!f || !fgets(line, sizeof line, f))
        return fprintf(stderr, "sftpkit-hsm-server: cannot read %s\n", public_file), 1;
    fclose(f);
    sftpkit_key *key = sftpkit_key_new();
    int64_t handle = 0;
    if (sftpkit_key_import_external(key, line, "token-key") || sftpkit_key_get_handle(key, &handle) ||
        sftpkit_server_set_server_key_count(s, 1) || sftpkit_server_set_server_key_handle(s, 0, handle))
        return fail("host key");
    sftpkit_key_free(key); /* the server keeps its own copy */
    if (sftpkit_server_set_external_crypto_mode(s, 2) || sftpkit_server_set_base_dir(s, root) ||
        sftpkit_server_set_host(s, host) || sftpkit_server_set_port(s, port) ||
        sftpkit_server_set_event_handler(s, on_event, NULL, NULL))
        return fail("setup");
    if (sftpkit_server_start(s))
        return fail("start");
    sftpkit_server_get_port(s, &port);
    printf("sftpkit-hsm-server listening on %s:%lld (host key in the token; Ctrl-C stops)\n", host, (long long)port);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop_requested)
        sleep(1);
    sftpkit_server_stop(s);
    sftpkit_server_free(s);
    p11->C_Finalize(NULL);
    return 0;
}
