/* Cross-property checks named by spec/sftpkit.json "check". Called under the server lock. */
#include <inttypes.h>

#include "api/errors.h"
#include "api/hooks.h"
#include "api/server.h"

int sfk_check_sftp_versions(sftpkit_server *s, sfk_prop_id id, int64_t value)
{
    int64_t min = id == SFK_P_MIN_SFTP_VERSION ? value : s->values[SFK_P_MIN_SFTP_VERSION].i;
    int64_t max = id == SFK_P_MAX_SFTP_VERSION ? value : s->values[SFK_P_MAX_SFTP_VERSION].i;
    if (min > max)
        return sfk_error(SFTPKIT_ERROR_INVALID_VALUE,
                         "%s: %" PRId64 " would make min_sftp_version (%" PRId64 ") exceed max_sftp_version (%" PRId64
                         ")",
                         sfk_props[id].name, value, min, max);
    return 0;
}
