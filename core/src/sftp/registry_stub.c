/* PLACEHOLDER until the SFTP engine lands (issue 4). */
#include "api/errors.h"
#include "api/server.h"

void sfk_sftp_registry_destroy(sftpkit_server *s)
{
    (void)s;
}

SFTPKIT_API int sftpkit_server_get_client_buffer(sftpkit_server *s, int64_t connection_id, const char *handle,
                                                 uint8_t **out, size_t *len)
{
    (void)s, (void)handle, (void)out, (void)len;
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "get_client_buffer: no connection %lld", (long long)connection_id);
}

SFTPKIT_API int sftpkit_server_set_client_buffer(sftpkit_server *s, int64_t connection_id, const char *handle,
                                                 const uint8_t *v, size_t len)
{
    (void)s, (void)handle, (void)v, (void)len;
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "set_client_buffer: no connection %lld", (long long)connection_id);
}

SFTPKIT_API int sftpkit_server_get_client_file_entry(sftpkit_server *s, int64_t connection_id, const char *handle)
{
    (void)s, (void)handle;
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "get_client_file_entry: no connection %lld",
                     (long long)connection_id);
}

SFTPKIT_API int sftpkit_server_set_client_file_entry(sftpkit_server *s, int64_t connection_id, const char *handle)
{
    (void)s, (void)handle;
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "set_client_file_entry: no connection %lld",
                     (long long)connection_id);
}
