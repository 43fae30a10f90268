/* The last accepted TOTP step per user name. An entry is made only after a valid code of an
 * existing user, so the list is bounded by the user list (user_count ≤ 100000). Kept by name
 * rather than index: the application may reorder or resize the user list while active. */
#include "ssh/totp_replay.h"

#include <stdlib.h>
#include <string.h>

#include "api/server.h"

struct sfk_totp_used {
    char *user;
    int64_t step;
    struct sfk_totp_used *next;
};

int sfk_totp_claim(sftpkit_server *s, const char *user, int64_t step)
{
    sfk_lock(s);
    struct sfk_totp_used *u = s->totp_used;
    while (u && strcmp(u->user, user))
        u = u->next;
    int ok = !u || step > u->step;
    if (ok && u) {
        u->step = step;
    } else if (ok) {
        u = calloc(1, sizeof *u);
        if (u && (u->user = strdup(user))) {
            u->step = step;
            u->next = s->totp_used;
            s->totp_used = u;
        } else {
            free(u);
            ok = 0; /* out of memory: refuse rather than allow a replay */
        }
    }
    sfk_unlock(s);
    return ok;
}

void sfk_totp_destroy(sftpkit_server *s)
{
    struct sfk_totp_used *u = s->totp_used;
    while (u) {
        struct sfk_totp_used *next = u->next;
        free(u->user);
        free(u);
        u = next;
    }
    s->totp_used = NULL;
}
