/* libFuzzer target: the authorized_keys / public-key line parser and the authorized-keys check
 * built on it.
 * Input: [flags][text ...]  flags bit 0: append the client's own key line after the text.
 * Checked: a line that parses gives a key libssh can describe (algorithm, SHA-256 fingerprint) and
 * that survives export + re-parse unchanged; the text as a user's user_ssh_key (one key per line)
 * accepts the client's key only if its base64 blob is in the text, and always when the key's
 * own line was appended; a probe and the signed attempt agree. */
#include <libssh/libssh.h>

#define FUZZ_NO_SLEEP
#include "fuzz_common.h"

#include "sftpkit/sftpkit.h"
#include "ssh/auth.h"
#include "ssh/keys.h"

static sftpkit_server *server;
static ssh_key client_key;
static char *client_line, *client_b64;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    server = sftpkit_server_new();
    fuzz_check(server && sftpkit_server_set_user_count(server, 1) == 0, "server");
    sftpkit_server_set_user_username(server, 0, "u");
    sftpkit_server_set_auth_types(server, 0x02); /* public key */
    fuzz_check(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &client_key) == SSH_OK, "key generation");
    fuzz_check(ssh_pki_export_pubkey_base64(client_key, &client_b64) == SSH_OK, "export");
    client_line = malloc(strlen(client_b64) + 32);
    sprintf(client_line, "ssh-ed25519 %s client@fuzz", client_b64);
    return 0;
}

static void check_line(const char *line)
{
    ssh_key key = sfk_key_parse_public_line(line);
    if (!key)
        return;
    sfk_key_info info;
    fuzz_check(sfk_key_describe(key, &info) == 0, "a parsed key cannot be described");
    fuzz_check(info.algorithm && *info.algorithm, "no algorithm");
    fuzz_check(info.fingerprint_sha256 && !strncmp(info.fingerprint_sha256, "SHA256:", 7), "fingerprint");
    char *b64 = NULL;
    fuzz_check(ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK, "a parsed key cannot be exported");
    const char *type = ssh_key_type_to_char(ssh_key_type(key));
    char *again = malloc(strlen(type) + strlen(b64) + 2);
    sprintf(again, "%s %s", type, b64);
    ssh_key back = sfk_key_parse_public_line(again);
    fuzz_check(back && ssh_key_cmp(back, key, SSH_KEY_CMP_PUBLIC) == 0, "export + parse changed the key");
    ssh_key_free(back);
    free(again);
    ssh_string_free_char(b64);
    sfk_key_info_clear(&info);
    ssh_key_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    int append = data[0] & 1;
    char *text = malloc(size + strlen(client_line) + 3);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    check_line(text); /* (up to a NUL, as a C caller passes it) */
    size_t len = strlen(text);
    if (append)
        len += (size_t)sprintf(text + len, "\n%s\n", client_line);

    sftpkit_server_set_user_ssh_key(server, 0, (const uint8_t *)text, len);
    sfk_auth a;
    sfk_auth_init(&a, server, 1);
    int probe = sfk_auth_public_key(&a, "u", client_key, SSH_PUBLICKEY_STATE_NONE);
    int verdict = sfk_auth_public_key(&a, "u", client_key, SSH_PUBLICKEY_STATE_VALID);
    sfk_auth_clear(&a);
    fuzz_check((probe == SSH_AUTH_SUCCESS) == (verdict == SSH_AUTH_SUCCESS), "probe %d and verdict %d differ", probe,
               verdict);
    if (verdict == SSH_AUTH_SUCCESS)
        fuzz_check(strstr(text, client_b64) != NULL, "the key was accepted by a list that does not hold it");
    if (append)
        fuzz_check(verdict == SSH_AUTH_SUCCESS, "the key's own line did not authorize it");
    free(text);
    return 0;
}
