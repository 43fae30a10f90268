/* Property checks and setter hooks named in spec/sftpkit.json ("check", "hook"). The generated
 * property table points at these; each lives beside the code it concerns. Internal. */
#ifndef SFK_HOOKS_H
#define SFK_HOOKS_H

#include "api/props.h"

/* min_sftp_version <= max_sftp_version (api/props_checks.c). */
int sfk_check_sftp_versions(sftpkit_server *s, sfk_prop_id id, int64_t value);

/* server_key_handle: copies the key with that handle into the slot and fills the slot's
 * read-only server_key_* columns (ssh/host_keys.c). */
int sfk_hook_server_key_handle(sftpkit_server *s, int64_t index, int64_t value);

/* user_handle: copies the user with that handle into the slot, which keeps its own handle
 * (api/user_handle.c). */
int sfk_hook_user_handle(sftpkit_server *s, int64_t index, int64_t value);

/* A fresh object handle, unique in the process (user slots get one when created). */
int64_t sfk_next_object_handle(void);

#endif
