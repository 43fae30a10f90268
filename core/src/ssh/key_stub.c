/* PLACEHOLDER until keys land with the transport (issue 3). */
#include <stdlib.h>

#include "api/errors.h"
#include "api/hooks.h"

struct sftpkit_key {
    int64_t handle;
};

SFTPKIT_API sftpkit_key *sftpkit_key_new(void)
{
    return calloc(1, sizeof(sftpkit_key));
}

SFTPKIT_API void sftpkit_key_free(sftpkit_key *k)
{
    free(k);
}

SFTPKIT_API int sftpkit_key_generate(sftpkit_key *k, const char *algorithm, int bits)
{
    (void)k, (void)bits;
    return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "key_generate(%s): keys are not built yet", algorithm);
}

SFTPKIT_API int sftpkit_key_import_file(sftpkit_key *k, const char *path, const char *passphrase)
{
    (void)k, (void)passphrase;
    return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "key_import_file(%s): keys are not built yet", path);
}

SFTPKIT_API int sftpkit_key_import_bytes(sftpkit_key *k, const uint8_t *data, size_t len, const char *passphrase)
{
    (void)k, (void)data, (void)len, (void)passphrase;
    return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "key_import_bytes: keys are not built yet");
}

SFTPKIT_API int sftpkit_key_export_public(const sftpkit_key *k, char **line)
{
    (void)k, (void)line;
    return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "key_export_public: keys are not built yet");
}

SFTPKIT_API int sftpkit_key_get_handle(const sftpkit_key *k, int64_t *out)
{
    *out = k->handle;
    return sfk_ok();
}

int sfk_hook_server_key_handle(sftpkit_server *s, int64_t index, int64_t value)
{
    (void)s, (void)index;
    return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "server_key_handle: no key has handle %lld", (long long)value);
}
