/* The server handle: creation with every documented default, and teardown. */
#include "api/server.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "api/errors.h"
#include "api/events.h"
#include "ssh/host_keys.h"
#include "ssh/totp_replay.h"
#include "util/audit.h"
#include "util/log.h"
#include "util/metrics.h"

SFTPKIT_API const char *sftpkit_version(void)
{
    return SFK_LIBRARY_VERSION;
}

SFTPKIT_API sftpkit_server *sftpkit_server_new(void)
{
    sftpkit_server *s = calloc(1, sizeof *s);
    if (!s) {
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    static atomic_uint_fast64_t next_serial = 1;
    s->serial = atomic_fetch_add(&next_serial, 1);
    pthread_mutex_init(&s->lock, NULL);
    if (sfk_props_init(s) || sfk_config_init(s) || !(s->metrics = sfk_metrics_new())) {
        sftpkit_server_free(s);
        sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    sfk_ok();
    return s;
}

SFTPKIT_API void sftpkit_server_free(sftpkit_server *s)
{
    if (!s)
        return;
    sfk_runtime_destroy(s); /* stops the server: no connection thread survives this line */
    sfk_sftp_registry_destroy(s);
    sfk_totp_destroy(s);
    sfk_events_destroy(s);
    sfk_host_keys_destroy(s);
    sfk_log_destroy(s);
    sfk_config_destroy(s);
    sfk_props_destroy(s);
    sfk_metrics_free(s->metrics);
    sfk_audit_destroy(s);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
