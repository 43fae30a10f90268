/* The server's host-key slots (server_key_* properties). Internal. */
#ifndef SFK_HOST_KEYS_H
#define SFK_HOST_KEYS_H

#include <libssh/libssh.h>

#include "sftpkit/sftpkit.h"

/* Copies of the keys in slots 0..server_key_count-1 that hold a key (caller frees each with
 * ssh_key_free). Returns how many were written to out (at most max). */
int sfk_host_keys_snapshot(sftpkit_server *s, ssh_key *out, int max);
void sfk_host_keys_destroy(sftpkit_server *s);

/* start(): checks external_crypto_mode against the slots (modes 3/4 refused; an external key
 * needs mode 2) and, when an external key is served, acquires the external-sign provider
 * (*holds = 1: the caller releases it with sfk_ext_provider_release when the server stops). */
int sfk_host_keys_external_setup(sftpkit_server *s, int64_t mode, int *holds);

#endif
