/* INIT / VERSION: version negotiation and the extension list. */
#include "api/errors.h"
#include "sftp/engine_int.h"
#include "sftp/version.h"
#include "util/log.h"

void sfk_req_init(sfk_engine *e, sfk_req *r)
{
    uint32_t client = sfk_rd_u32(&r->rd); /* v3+ clients may append extension pairs: ignored */
    if (r->rd.bad) {
        e->fatal = 1;
        sfk_error(SFTPKIT_ERROR_INVALID_STATE, "sftp: SSH_FXP_INIT without a version");
        return;
    }
    /* The client speaks `client`; we answer with the highest version both sides and the
     * min_sftp_version..max_sftp_version range allow (this engine implements v0..v6). */
    int max = e->max_version < SFK_SFTP_VERSION_MAX ? e->max_version : SFK_SFTP_VERSION_MAX;
    int v = client < (uint32_t)max ? (int)client : max;
    if (v < e->min_version || v < SFK_SFTP_VERSION_MIN) {
        e->fatal = 1;
        sfk_error(SFTPKIT_ERROR_INVALID_STATE,
                  "sftp: no common protocol version (client %u, allowed %d..%d, implemented %d..%d)", client,
                  e->min_version, e->max_version, SFK_SFTP_VERSION_MIN, SFK_SFTP_VERSION_MAX);
        sfk_log(e->server, SFK_LOG_WARNING, "sftp", "connection %lld: %s", (long long)e->conn_id,
                sftpkit_last_error_message());
        return;
    }
    e->version = v;
    e->initialized = 1;
    if (v >= 4) /* filenames are UTF-8 from v4 on, whatever use_utf8 says */
        e->utf8 = 1;
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_VERSION);
    sfk_wr_u32(&e->out, (uint32_t)v);
    sfk_write_extensions(e);
    sfk_version_extensions(e);
    sfk_wr_end(&e->out, start);
    sfk_log(e->server, SFK_LOG_INFO, "sftp", "connection %lld: SFTP version %d (client offered %u)",
            (long long)e->conn_id, v, client);
}
