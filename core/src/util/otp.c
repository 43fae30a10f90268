/* HOTP (RFC 4226): HMAC(secret, counter) dynamically truncated; TOTP (RFC 6238) is HOTP over the
 * time step. */
#include "util/otp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int sfk_otp_generate(const uint8_t *secret, size_t secret_len, const char *hash, uint64_t counter, int digits,
                     char out[11])
{
    const EVP_MD *md = NULL;
    if (!hash || !*hash || !strcasecmp(hash, "SHA1"))
        md = EVP_sha1();
    else if (!strcasecmp(hash, "SHA256"))
        md = EVP_sha256();
    else if (!strcasecmp(hash, "SHA512"))
        md = EVP_sha512();
    if (!md || digits < 6 || digits > 10)
        return -1;
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    for (int i = 7; i >= 0; i--, counter >>= 8)
        msg[i] = (uint8_t)(counter & 0xff);
    if (!HMAC(md, secret, (int)secret_len, msg, sizeof msg, mac, &mac_len))
        return -1;
    int off = mac[mac_len - 1] & 0x0f;
    uint64_t code = ((uint64_t)(mac[off] & 0x7f) << 24) | ((uint64_t)mac[off + 1] << 16) |
                    ((uint64_t)mac[off + 2] << 8) | mac[off + 3];
    uint64_t mod = 1;
    for (int i = 0; i < digits; i++)
        mod *= 10;
    snprintf(out, 11, "%0*llu", digits, (unsigned long long)(code % mod));
    return 0;
}
