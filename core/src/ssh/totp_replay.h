/* TOTP codes usable once: the last time step accepted per user, so a code seen by someone
 * else (shoulder, log, proxy) cannot log in again within its window. Internal. */
#ifndef SFK_SSH_TOTP_REPLAY_H
#define SFK_SSH_TOTP_REPLAY_H

#include <stdint.h>

#include "sftpkit/sftpkit.h"

/* 1 when step_start (the first second of the code's time step) is later than that of every step
 * accepted before for user (it is recorded), else 0: that code, or one of an earlier step, has
 * been used. Thread-safe (the server lock). */
int sfk_totp_claim(sftpkit_server *s, const char *user, int64_t step_start);

/* Frees the record (sftpkit_server_free). */
void sfk_totp_destroy(sftpkit_server *s);

#endif
