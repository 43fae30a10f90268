/* Settings that start() refuses rather than run with them silently not doing what they say.
 * Internal. */
#ifndef SFK_START_CHECKS_H
#define SFK_START_CHECKS_H

#include "api/config.h"
#include "api/props.h"
#include "sftpkit/sftpkit.h"

/* The settings marked "refused" in spec/sftpkit.json "effects" (generated; ended by why NULL). */
typedef struct {
    sfk_prop_id id;
    const char *why;
} sfk_refused_prop;
typedef struct {
    sfk_config_id id;
    const char *why;
} sfk_refused_config;
extern const sfk_refused_prop sfk_refused_props[];
extern const sfk_refused_config sfk_refused_configs[];

/* Where to listen: socket_local_address when set (else host) and socket_local_port when not 0
 * (else port). Both of a pair set to different values is refused: which one was meant? *host is
 * malloc'd. 0, or SFTPKIT_ERROR_INVALID_SETUP with the last error set. */
int sfk_listen_target(sftpkit_server *s, char **host, int *port);

/* 0, or SFTPKIT_ERROR_INVALID_SETUP with the last error naming the setting and why. */
int sfk_start_checks(sftpkit_server *s);

#endif
