/* Settings that start() refuses rather than run with them silently not doing what they say.
 * Internal. */
#ifndef SFK_START_CHECKS_H
#define SFK_START_CHECKS_H

#include "sftpkit/sftpkit.h"

/* 0, or SFTPKIT_ERROR_INVALID_SETUP with the last error naming the setting and why. */
int sfk_start_checks(sftpkit_server *s);

#endif
