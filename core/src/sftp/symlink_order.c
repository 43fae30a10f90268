/* Per-connection SYMLINK argument order from the client's identification string. */
#include "sftp/symlink_order.h"

#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

/* "SSH-2.0-AsyncSSH_2.14 comment" -> "AsyncSSH_2.14 comment": the globs in the table are over the
 * software version, as the clients' own tests are. */
static const char *software_of(const char *banner)
{
    if (!banner)
        return "";
    if (!strncmp(banner, "SSH-", 4)) {
        const char *dash = strchr(banner + 4, '-');
        if (dash)
            return dash + 1;
    }
    return banner;
}

static const sfk_symlink_client *find_family(const char *client_banner)
{
    const char *sw = software_of(client_banner);
    for (const sfk_symlink_client *c = sfk_symlink_draft_clients; c->family; c++)
        if (fnmatch(c->client, sw, 0) == 0)
            return c;
    return NULL;
}

int sfk_symlink_client_sends_draft(const char *client_banner, const char *server_software)
{
    const sfk_symlink_client *c = find_family(client_banner);
    if (!c)
        return 0;
    const char *ours = software_of(server_software);
    for (const char *const *g = c->openssh_order; *g; g++)
        if (fnmatch(*g, ours, 0) == 0)
            return 0; /* we look like a server that client treats as OpenSSH */
    return 1;
}

const char *sfk_symlink_client_family(const char *client_banner)
{
    const sfk_symlink_client *c = find_family(client_banner);
    return c ? c->family : NULL;
}
