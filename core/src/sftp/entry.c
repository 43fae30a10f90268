/* File entries a handler hands to the engine (set_client_file_entry: find listings, attribute
 * replies) and receives (get_client_file_entry: an open handle's attributes, or the change a
 * SETSTAT asks for). The host maps them to its client_file_entry_* properties
 * (api/host_server.c); times there are UTC strings "YYYY-MM-DDTHH:MM:SSZ". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sftp/engine_int.h"
#include "sftpkit/sftpkit_consts.h"

void sfk_time_format(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        out[0] = '\0';
}

int sfk_time_parse(const char *s, int64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return -1;
    char *end;
    long long secs = strtoll(s, &end, 10);
    if (end != s && *end == '\0') { /* plain seconds since 1970 */
        *out = secs;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &used) != 3)
        return -1;
    const char *rest = s + used;
    if (*rest) { /* a time of day follows */
        if (*rest != 'T' && *rest != 't' && *rest != ' ')
            return -1;
        rest++;
        used = 0;
        if (sscanf(rest, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 3)
            return -1;
        rest += used;
        if (*rest == '.') /* fractions of a second: ignored */
            while (isdigit((unsigned char)*++rest))
                ;
        if (*rest == 'Z' || *rest == 'z')
            rest++;
        else if (!strncmp(rest, "+00:00", 6))
            rest += 6;
        if (*rest)
            return -1;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
        tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

void sfk_entry_free(sfk_entry *en)
{
    free(en->name);
    free(en->longname);
    free(en->owner);
    memset(en, 0, sizeof *en);
}

void sfk_entry_encode(sfk_engine *e, sfk_buf *b, const sfk_entry *en)
{
    if (en->longname && e->version < 4) { /* v4+ has no long names */
        sfk_wr_cstr(b, en->name);
        sfk_wr_cstr(b, en->longname);
        sfk_attrs_encode(b, e->version, &en->attrs);
        return;
    }
    const char *owner = en->owner && *en->owner ? en->owner : "0";
    if (e->version >= 4 && en->owner && *en->owner) { /* v4+: the owner name in the attributes */
        sfk_attrs a = en->attrs;
        a.flags |= SFK_A_NAMES;
        snprintf(a.owner, sizeof a.owner, "%s", owner);
        snprintf(a.group, sizeof a.group, "%s", owner);
        return sfk_encode_entry(e, b, en->name, strlen(en->name), &a, owner, owner);
    }
    sfk_encode_entry(e, b, en->name, strlen(en->name), &en->attrs, owner, owner);
}

void sfk_entry_write(sfk_engine *e, const char *path, const sfk_attrs *a)
{
    if (!e->host.ops || !e->host.ops->entry_put)
        return;
    const char *slash = strrchr(path, '/');
    const char *name = slash && slash[1] ? slash + 1 : path;
    /* no cache here: this may run on another thread than the engine's */
    char owner[64] = "", group[64] = "0";
    if (a->flags & SFK_A_UIDGID) {
        sfk_lookup_user(a->uid, owner, sizeof owner);
        sfk_lookup_group(a->gid, group, sizeof group);
    }
    char longname[SFK_PATH_MAX + 256] = "";
    if ((a->flags & SFK_A_PERMS) || (a->flags & SFK_A_SIZE))
        sfk_longname(longname, (int)sizeof longname, name, a, *owner ? owner : "0", group);
    e->host.ops->entry_put(e->host.ctx, path, name, a, owner, longname);
}
