/* libFuzzer target: the one-time-password check behind keyboard-interactive login.
 * Input: [algorithm][digits][hash][counter:8][secret length][secret][answer mode][answer ...]
 *   algorithm bit 0: TOTP (else HOTP); digits: user_password_len; hash: one of the names below;
 *   answer mode 0: the answer is the rest of the input; 1..4: the right code for counter + mode-1
 *   (HOTP) or step now+mode-3 (TOTP), then the rest appended (so accepting paths are reached).
 * Checked: the prompt asks for an OTP exactly when the user has a secret; a code is accepted
 * exactly when it equals the generator's code for a counter in [counter, counter+3] (HOTP) or a
 * step within one of now (TOTP), with the user's hash and digits; HOTP moves the counter to one
 * past the match and only on a match, so the same code never works twice; an accepted TOTP code
 * is refused the second time (each step once). The TOTP replay record is cleared before each
 * input, so every input starts from a server that has accepted no code. */
#include <time.h>

#define FUZZ_NO_SLEEP
#include "fuzz_common.h"

#include "sftpkit/sftpkit.h"
#include "ssh/auth.h"
#include "ssh/totp_replay.h"
#include "util/otp.h"

static sftpkit_server *server;
static const char *const hashes[] = {"", "SHA1", "SHA256", "SHA512", "sha256", "MD5", "SHA3", "sha1 "};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    server = sftpkit_server_new();
    fuzz_check(server && sftpkit_server_set_user_count(server, 1) == 0, "server");
    sftpkit_server_set_user_username(server, 0, "u");
    sftpkit_server_set_auth_types(server, 0x10); /* keyboard-interactive */
    return 0;
}

/* Does answer match a code the user's settings allow right now? (the reference verdict) */
static int expected(const uint8_t *secret, size_t len, const char *hash, int totp, int64_t value, int digits,
                    const char *answer, int64_t *match)
{
    char code[11];
    if (!len)
        return 0;
    if (!totp) {
        for (int64_t k = 0; k < 4 && value <= INT64_MAX - 1 - k; k++)
            if (!sfk_otp_generate(secret, len, hash, (uint64_t)(value + k), digits, code) && !strcmp(code, answer))
                return *match = value + k, 1;
        return 0;
    }
    int64_t step = value > 0 ? value : 30, now = (int64_t)time(NULL) / step;
    for (int64_t t = now - 1; t <= now + 1; t++)
        if (!sfk_otp_generate(secret, len, hash, (uint64_t)t, digits, code) && !strcmp(code, answer))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    fuzz_in in = {data, size};
    int totp = fuzz_u8(&in) & 1;
    int64_t digits_set = (int8_t)fuzz_u8(&in);
    const char *hash = hashes[fuzz_u8(&in) % (sizeof hashes / sizeof *hashes)];
    int64_t value = (int64_t)fuzz_u64(&in);
    if (totp)
        value = value % 100000; /* a time step in seconds; huge ones only test time() / step */
    size_t slen = fuzz_u8(&in);
    if (slen > in.left)
        slen = in.left;
    uint8_t *secret = malloc(slen + 1);
    memcpy(secret, in.p, slen);
    in.p += slen, in.left -= slen;
    int mode = fuzz_u8(&in) % 5;
    char *rest = fuzz_rest_cstr(&in);

    sftpkit_server_set_user_shared_secret(server, 0, secret, slen);
    sftpkit_server_set_user_hash_algorithm(server, 0, hash); /* may be refused: read back below */
    sftpkit_server_set_user_otp_algorithm(server, 0, totp);
    sftpkit_server_set_user_otp_value(server, 0, value);
    sftpkit_server_set_user_password_len(server, 0, digits_set);
    char *hash_now = NULL;
    int64_t digits = 0, value_now = 0, algo_now = 0;
    sftpkit_server_get_user_hash_algorithm(server, 0, &hash_now);
    sftpkit_server_get_user_password_len(server, 0, &digits);
    sftpkit_server_get_user_otp_value(server, 0, &value_now);
    sftpkit_server_get_user_otp_algorithm(server, 0, &algo_now);
    if (digits == 0)
        digits = 6;

    char answer[64] = "";
    if (mode) {
        uint64_t at = algo_now == 0 ? (uint64_t)value_now + (uint64_t)mode - 1
                                    : (uint64_t)(time(NULL) / (value_now > 0 ? value_now : 30)) + (uint64_t)mode - 3;
        sfk_otp_generate(secret, slen, hash_now, at, (int)digits, answer);
    }
    snprintf(answer + strlen(answer), sizeof answer - strlen(answer), "%s", rest);

    sfk_totp_destroy(server); /* no step accepted yet: the reference verdict below holds */
    sfk_auth a;
    sfk_auth_init(&a, server, 1);
    const char *prompt = sfk_auth_kbd_prompt(&a, "u");
    fuzz_check(!strcmp(prompt, slen ? "One-time password: " : "Password: "), "prompt \"%s\" with a %zu-byte secret",
               prompt, slen);
    int64_t match = -1;
    time_t t0 = time(NULL);
    int want = slen && expected(secret, slen, hash_now, algo_now != 0, value_now, (int)digits, answer, &match);
    int got = sfk_auth_kbd_answer(&a, "u", answer) == SSH_AUTH_SUCCESS;
    if (time(NULL) == t0 || algo_now == 0) /* (a TOTP step may end between the two checks) */
        fuzz_check(got == want, "code \"%s\" %s, expected %s", answer, got ? "accepted" : "refused",
                   want ? "accepted" : "refused");
    if (got && algo_now != 0) { /* the same TOTP code again: refused (its step is used) */
        sfk_auth b;
        sfk_auth_init(&b, server, 2);
        sfk_auth_kbd_prompt(&b, "u");
        fuzz_check(sfk_auth_kbd_answer(&b, "u", answer) != SSH_AUTH_SUCCESS, "a TOTP code worked twice");
        sfk_auth_clear(&b);
    }
    int64_t after = 0;
    sftpkit_server_get_user_otp_value(server, 0, &after);
    if (slen && algo_now == 0) {
        fuzz_check((uint64_t)after == (got ? (uint64_t)match + 1 : (uint64_t)value_now),
                   "HOTP counter %lld -> %lld after %s", (long long)value_now, (long long)after,
                   got ? "a match" : "a refusal");
        if (got) { /* the same code again: refused */
            sfk_auth b;
            sfk_auth_init(&b, server, 2);
            sfk_auth_kbd_prompt(&b, "u");
            fuzz_check(sfk_auth_kbd_answer(&b, "u", answer) != SSH_AUTH_SUCCESS, "an HOTP code worked twice");
            sfk_auth_clear(&b);
        }
    }
    sfk_auth_clear(&a);
    free(hash_now);
    free(rest);
    free(secret);
    return 0;
}
