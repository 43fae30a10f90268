/* TOTP codes usable once: the last time step accepted per user, so a code seen by someone
 * else (shoulder, log, proxy) cannot log in again within its window. Internal. */
#ifndef SFK_SSH_TOTP_REPLAY_H
#define SFK_SSH_TOTP_REPLAY_H

#include <stdint.h>

#include "sftpkit/sftpkit.h"

/* 1 when step is later than every step accepted before for user (it is recorded), else 0: that
 * code, or one of an earlier step, has been used. Thread-safe (the server lock). */
int sfk_totp_claim(sftpkit_server *s, const char *user, int64_t step);

/* Frees the record (sftpkit_server_free). */
void sfk_totp_destroy(sftpkit_server *s);

#endif
