/* start()'s refusals of configurations this library would otherwise only pretend to honour:
 * an authorized_keys line whose options cannot be enforced would let the key in without them. */
#include "api/start_checks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>

#include "api/config.h"
#include "api/errors.h"
#include "api/props.h"
#include "ssh/authorized_keys.h"

static int check_authorized_keys(sftpkit_server *s)
{
    int64_t users = sfk_prop_int(s, SFK_P_USER_COUNT, -1);
    int rc = 0;
    for (int64_t u = 0; u < users && !rc; u++) {
        uint8_t *lines = NULL;
        size_t len = 0;
        if (sfk_prop_bytes(s, SFK_P_USER_SSH_KEY, u, &lines, &len) || !len) {
            free(lines);
            continue;
        }
        char *text = malloc(len + 1), *save = NULL;
        if (!text) {
            free(lines);
            return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        }
        memcpy(text, lines, len);
        text[len] = '\0';
        int n = 0;
        for (char *line = strtok_r(text, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
            char why[300];
            n++;
            if (sfk_ak_validate(line, why, sizeof why))
                rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: user_ssh_key[%lld] line %d: %s", (long long)u, n,
                               why);
        }
        free(text);
        free(lines);
    }
    return rc;
}

int sfk_listen_target(sftpkit_server *s, char **host, int *port)
{
    char *h = sfk_prop_str(s, SFK_P_HOST, -1), *local = sfk_prop_str(s, SFK_P_SOCKET_LOCAL_ADDRESS, -1);
    int p = (int)sfk_prop_int(s, SFK_P_PORT, -1), lp = (int)sfk_prop_int(s, SFK_P_SOCKET_LOCAL_PORT, -1);
    int rc = 0;
    if (!h || !local) {
        rc = sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    } else if (*local && *h && strcmp(h, local)) {
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                       "start: host \"%s\" and socket_local_address \"%s\" differ; set one of them", h, local);
    } else if (lp && p != lp && p != sfk_props[SFK_P_PORT].default_i) {
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: port %d and socket_local_port %d differ; set one of them",
                       p, lp);
    }
    if (rc) {
        free(h);
        free(local);
        return rc;
    }
    if (*local) {
        free(h);
        h = local;
    } else {
        free(local);
    }
    *host = h;
    *port = lp ? lp : p;
    return 0;
}

/* A value other than the default of a setting marked "refused" in spec/sftpkit.json "effects"
 * (tables generated into effects_gen.c): start() says so rather than run without it. */
static int check_refused(sftpkit_server *s)
{
    for (const sfk_refused_prop *r = sfk_refused_props; r->why; r++) {
        const sfk_prop_desc *d = &sfk_props[r->id];
        int differs = 0;
        if (d->type == SFK_T_STRING) {
            char *v = sfk_prop_str(s, r->id, -1);
            differs = v && strcmp(v, d->default_s ? d->default_s : "");
            free(v);
        } else {
            differs = sfk_prop_int(s, r->id, -1) != d->default_i;
        }
        if (differs)
            return sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: %s is set, but %s", d->name, r->why);
    }
    for (const sfk_refused_config *r = sfk_refused_configs; r->why; r++) {
        char *v = sfk_config_str(s, r->id);
        int differs = v && strcasecmp(v, sfk_configs[r->id].default_value);
        free(v);
        if (differs)
            return sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: config %s is set, but %s", sfk_configs[r->id].name,
                             r->why);
    }
    return 0;
}

int sfk_start_checks(sftpkit_server *s)
{
    char *host = NULL;
    int port;
    int rc = sfk_listen_target(s, &host, &port);
    free(host);
    if (!rc)
        rc = check_refused(s);
    if (!rc)
        rc = check_authorized_keys(s);
    return rc;
}
