/* PLACEHOLDER until the transport lands (issue 3): the lifecycle methods refuse honestly. */
#include "api/errors.h"
#include "api/server.h"

void sfk_runtime_destroy(sftpkit_server *s)
{
    (void)s;
}

SFTPKIT_API int sftpkit_server_start(sftpkit_server *s)
{
    (void)s;
    return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "start: the SSH transport is not built yet");
}

SFTPKIT_API int sftpkit_server_stop(sftpkit_server *s)
{
    (void)s;
    return sfk_ok();
}

SFTPKIT_API int sftpkit_server_drop_client(sftpkit_server *s, int64_t connection_id, int forced)
{
    (void)s, (void)forced;
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "drop_client: no connection %lld", (long long)connection_id);
}

SFTPKIT_API int sftpkit_server_list_clients(sftpkit_server *s, char **out)
{
    (void)s;
    *out = sfk_strdup("");
    return sfk_ok();
}

SFTPKIT_API int sftpkit_server_pin_client(sftpkit_server *s, int64_t connection_id)
{
    (void)s;
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "pin_client: no connection %lld", (long long)connection_id);
}
