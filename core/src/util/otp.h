/* One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238). Internal. */
#ifndef SFK_OTP_H
#define SFK_OTP_H

#include <stddef.h>
#include <stdint.h>

/* The OTP for counter (HOTP) or time step (TOTP) with hash "SHA1" (or ""), "SHA256" or "SHA512",
 * as a zero-padded decimal string of digits (6..10) written to out (at least 11 bytes).
 * Returns 0, or -1 for an unknown hash or bad digits. */
int sfk_otp_generate(const uint8_t *secret, size_t secret_len, const char *hash, uint64_t counter, int digits,
                     char out[11]);

#endif
