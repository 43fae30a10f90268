/* client_file_entry_*: the properties through which handlers hand file entries to the engine
 * (set_client_file_entry: find listings, attribute replies) and receive them
 * (get_client_file_entry: an open handle's attributes, or the change a SETSTAT asks for).
 * Times are UTC strings "YYYY-MM-DDTHH:MM:SSZ". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/errors.h"
#include "api/props.h"
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

static const struct {
    sfk_prop_id prop;
    uint32_t bit;
} perm_props[] = {
    {SFK_P_CLIENT_FILE_ENTRY_USER_READ, 0400},    {SFK_P_CLIENT_FILE_ENTRY_USER_WRITE, 0200},
    {SFK_P_CLIENT_FILE_ENTRY_USER_EXECUTE, 0100}, {SFK_P_CLIENT_FILE_ENTRY_GROUP_READ, 040},
    {SFK_P_CLIENT_FILE_ENTRY_GROUP_WRITE, 020},   {SFK_P_CLIENT_FILE_ENTRY_GROUP_EXECUTE, 010},
    {SFK_P_CLIENT_FILE_ENTRY_OTHER_READ, 04},     {SFK_P_CLIENT_FILE_ENTRY_OTHER_WRITE, 02},
    {SFK_P_CLIENT_FILE_ENTRY_OTHER_EXECUTE, 01},
};

/* cft* file types <-> S_IFMT. */
static uint32_t type_bits(int64_t file_type, int directory)
{
    if (directory)
        return S_IFDIR;
    switch (file_type) {
    case SFTPKIT_FILE_TYPE_CFTDIRECTORY:
        return S_IFDIR;
    case SFTPKIT_FILE_TYPE_CFTSYMBLINK:
        return S_IFLNK;
    case SFTPKIT_FILE_TYPE_CFTSOCKET:
        return S_IFSOCK;
    case SFTPKIT_FILE_TYPE_CFTCHARDEVICE:
        return S_IFCHR;
    case SFTPKIT_FILE_TYPE_CFTBLOCKDEVICE:
        return S_IFBLK;
    case SFTPKIT_FILE_TYPE_CFTFIFO:
        return S_IFIFO;
    case SFTPKIT_FILE_TYPE_CFTSPECIAL:
        return 0;
    default: /* cftFile, cftUnknown */
        return S_IFREG;
    }
}

static int64_t file_type_of(uint32_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return SFTPKIT_FILE_TYPE_CFTFILE;
    case S_IFDIR:
        return SFTPKIT_FILE_TYPE_CFTDIRECTORY;
    case S_IFLNK:
        return SFTPKIT_FILE_TYPE_CFTSYMBLINK;
    case S_IFSOCK:
        return SFTPKIT_FILE_TYPE_CFTSOCKET;
    case S_IFCHR:
        return SFTPKIT_FILE_TYPE_CFTCHARDEVICE;
    case S_IFBLK:
        return SFTPKIT_FILE_TYPE_CFTBLOCKDEVICE;
    case S_IFIFO:
        return SFTPKIT_FILE_TYPE_CFTFIFO;
    default:
        return SFTPKIT_FILE_TYPE_CFTUNKNOWN;
    }
}

static int take_time(sftpkit_server *s, sfk_prop_id id, int64_t *out)
{
    char *t = sfk_prop_str(s, id, -1);
    int rc = t ? sfk_time_parse(t, out) : -1;
    free(t);
    return rc;
}

int sfk_entry_read(sftpkit_server *s, sfk_entry *en)
{
    memset(en, 0, sizeof *en);
    en->name = sfk_prop_str(s, SFK_P_CLIENT_FILE_ENTRY_NAME, -1);
    char *path = sfk_prop_str(s, SFK_P_CLIENT_FILE_ENTRY_PATH, -1);
    en->longname = sfk_prop_str(s, SFK_P_CLIENT_FILE_ENTRY_LONG_NAME, -1);
    en->owner = sfk_prop_str(s, SFK_P_CLIENT_FILE_ENTRY_OWNER, -1);
    if (!en->name || !path || !en->longname || !en->owner) {
        free(path);
        sfk_entry_free(en);
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    if (!*en->name && *path) { /* no name: the path's last component */
        const char *slash = strrchr(path, '/');
        const char *base = slash && slash[1] ? slash + 1 : path;
        free(en->name);
        en->name = strdup(base);
    }
    free(path);
    if (!en->name || !*en->name) {
        sfk_entry_free(en);
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER,
                         "set_client_file_entry: client_file_entry_name and client_file_entry_path are empty");
    }
    if (!*en->longname) {
        free(en->longname);
        en->longname = NULL;
    }
    sfk_attrs *a = &en->attrs;
    int64_t size = sfk_prop_int(s, SFK_P_CLIENT_FILE_ENTRY_SIZE, -1);
    if (size >= 0) {
        a->flags |= SFK_A_SIZE;
        a->size = (uint64_t)size;
    }
    a->flags |= SFK_A_PERMS;
    a->perm = type_bits(sfk_prop_int(s, SFK_P_CLIENT_FILE_ENTRY_FILE_TYPE, -1),
                        sfk_prop_int(s, SFK_P_CLIENT_FILE_ENTRY_DIRECTORY, -1) != 0);
    for (size_t i = 0; i < sizeof perm_props / sizeof perm_props[0]; i++)
        if (sfk_prop_int(s, perm_props[i].prop, -1))
            a->perm |= perm_props[i].bit;
    if (take_time(s, SFK_P_CLIENT_FILE_ENTRY_M_TIME, &a->mtime) == 0)
        a->flags |= SFK_A_MTIME;
    if (take_time(s, SFK_P_CLIENT_FILE_ENTRY_A_TIME, &a->atime) == 0)
        a->flags |= SFK_A_ATIME;
    if (take_time(s, SFK_P_CLIENT_FILE_ENTRY_C_TIME, &a->ctime) == 0)
        a->flags |= SFK_A_CTIME;
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

static void put_time(sftpkit_server *s, sfk_prop_id id, int present, int64_t t)
{
    char buf[32] = "";
    if (present)
        sfk_time_format(t, buf);
    sfk_prop_put_str(s, id, -1, buf);
}

void sfk_entry_write(sfk_engine *e, const char *path, const sfk_attrs *a)
{
    sftpkit_server *s = e->server;
    const char *slash = strrchr(path, '/');
    const char *name = slash && slash[1] ? slash + 1 : path;
    sfk_prop_put_str(s, SFK_P_CLIENT_FILE_ENTRY_PATH, -1, path);
    sfk_prop_put_str(s, SFK_P_CLIENT_FILE_ENTRY_NAME, -1, name);
    sfk_prop_put_int(s, SFK_P_CLIENT_FILE_ENTRY_SIZE, -1, a->flags & SFK_A_SIZE ? (int64_t)a->size : -1);
    int perms = (a->flags & SFK_A_PERMS) != 0;
    sfk_prop_put_int(s, SFK_P_CLIENT_FILE_ENTRY_DIRECTORY, -1, perms && S_ISDIR(a->perm));
    /* cftUnknown exactly when no permissions are known (a SETSTAT without them); bare permission
     * bits without a type read as a file */
    sfk_prop_put_int(s, SFK_P_CLIENT_FILE_ENTRY_FILE_TYPE, -1,
                     !perms               ? SFTPKIT_FILE_TYPE_CFTUNKNOWN
                     : (a->perm & S_IFMT) ? file_type_of(a->perm)
                                          : SFTPKIT_FILE_TYPE_CFTFILE);
    for (size_t i = 0; i < sizeof perm_props / sizeof perm_props[0]; i++)
        sfk_prop_put_int(s, perm_props[i].prop, -1, perms && (a->perm & perm_props[i].bit));
    put_time(s, SFK_P_CLIENT_FILE_ENTRY_A_TIME, a->flags & SFK_A_ATIME, a->atime);
    put_time(s, SFK_P_CLIENT_FILE_ENTRY_M_TIME, a->flags & SFK_A_MTIME, a->mtime);
    put_time(s, SFK_P_CLIENT_FILE_ENTRY_C_TIME, a->flags & SFK_A_CTIME, a->ctime);
    /* no cache here: this may run on another thread than the engine's */
    char owner[64] = "", group[64] = "0";
    if (a->flags & SFK_A_UIDGID) {
        sfk_lookup_user(a->uid, owner, sizeof owner);
        sfk_lookup_group(a->gid, group, sizeof group);
    }
    sfk_prop_put_str(s, SFK_P_CLIENT_FILE_ENTRY_OWNER, -1, owner);
    char longname[SFK_PATH_MAX + 256] = "";
    if (perms || (a->flags & SFK_A_SIZE))
        sfk_longname(longname, (int)sizeof longname, name, a, *owner ? owner : "0", group);
    sfk_prop_put_str(s, SFK_P_CLIENT_FILE_ENTRY_LONG_NAME, -1, longname);
}
