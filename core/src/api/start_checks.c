/* start()'s refusals of configurations this library would otherwise only pretend to honour:
 * an authorized_keys line whose options cannot be enforced would let the key in without them. */
#include "api/start_checks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int sfk_start_checks(sftpkit_server *s)
{
    return check_authorized_keys(s);
}
