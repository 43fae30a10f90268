/* The server's side of the engine–host boundary (core/src/sftp/host.h): the engine's generic
 * event calls become sftpkit_event dispatches, its settings snapshot is read from the server's
 * properties and config once per session, and client_file_entry_* is mapped to and from the
 * engine's attributes. The only code that knows both the engine's types and the server's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/config.h"
#include "api/errors.h"
#include "api/events.h"
#include "api/props.h"
#include "api/server.h"
#include "api/status_message.h"
#include "sftp/host.h"
#include "sftp/symlink_order.h"

/* ---- events ------------------------------------------------------------------------------------ */

static int server_fire(void *ctx, int event_id, sfk_host_value *v, int n)
{
    sftpkit_server *s = ctx;
    if (event_id < 1 || event_id > SFTPKIT_EVENT_COUNT || n > SFK_EVENT_MAX_PARAMS || !sfk_event_wanted(s, event_id))
        return 0;
    sftpkit_event ev;
    sfk_event_init(&ev, event_id);
    for (int i = 0; i < n; i++) {
        ev.v[i].i = v[i].i;
        ev.v[i].s = v[i].s;
    }
    int ran = sfk_event_dispatch(s, &ev);
    if (ran) {
        const sfk_event_desc *d = &sfk_events[event_id];
        for (int i = 0; i < n && i < d->param_count; i++) {
            if (!d->params[i].byref)
                continue;
            if (d->params[i].type == SFK_PT_STRING)
                sfk_event_take_str(&ev, i, &v[i].set);
            else
                v[i].i = ev.v[i].i;
        }
    }
    sfk_event_cleanup(&ev);
    return ran;
}

/* ---- settings ---------------------------------------------------------------------------------- */

static void server_settings(void *ctx, sfk_session_settings *out)
{
    sftpkit_server *s = ctx;
    sfk_session_settings_defaults(out);
    out->allow_special_mode = sfk_config_int(s, SFK_CFG_ALLOWSPECIALMODEBITS) != 0;
    out->allow_chown = sfk_config_int(s, SFK_CFG_ALLOWCHANGEOWNER) != 0;
    out->workers = (int)sfk_config_int(s, SFK_CFG_WORKERTHREADS);
    out->min_version = (int)sfk_prop_int(s, SFK_P_MIN_SFTP_VERSION, -1);
    out->max_version = (int)sfk_prop_int(s, SFK_P_MAX_SFTP_VERSION, -1);
    out->read_only = sfk_prop_int(s, SFK_P_READ_ONLY, -1) != 0;
    out->utf8 = sfk_prop_int(s, SFK_P_USE_UTF8, -1) != 0;
    char *forced = sfk_config_str(s, SFK_CFG_SYMLINKARGUMENTORDER);
    out->symlink_order = !forced                      ? SFK_SYMLINK_AUTO
                         : !strcmp(forced, "draft")   ? SFK_SYMLINK_DRAFT
                         : !strcmp(forced, "openssh") ? SFK_SYMLINK_OPENSSH
                                                      : SFK_SYMLINK_AUTO;
    free(forced);
    char *ours = sfk_prop_str(s, SFK_P_SSH_SETTINGS_SOFTWARE_NAME, -1);
    snprintf(out->software_name, sizeof out->software_name, "%s", ours ? ours : "");
    free(ours);
}

static int server_notify(void *ctx)
{
    sftpkit_server *s = ctx;
    return sfk_config_int(s, SFK_CFG_NOTIFYONFILEOPERATIONS) && sfk_event_wanted(s, SFTPKIT_EVENT_ON_NOTIFICATION);
}

/* ---- client_file_entry_* ---------------------------------------------------------------------- */

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

static int server_entry_get(void *ctx, sfk_entry *en)
{
    sftpkit_server *s = ctx;
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

static void put_time(sftpkit_server *s, sfk_prop_id id, int present, int64_t t)
{
    char buf[32] = "";
    if (present)
        sfk_time_format(t, buf);
    sfk_prop_put_str(s, id, -1, buf);
}

static void server_entry_put(void *ctx, const char *path, const char *name, const sfk_attrs *a, const char *owner,
                             const char *longname)
{
    sftpkit_server *s = ctx;
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
    sfk_prop_put_str(s, SFK_P_CLIENT_FILE_ENTRY_OWNER, -1, owner);
    sfk_prop_put_str(s, SFK_P_CLIENT_FILE_ENTRY_LONG_NAME, -1, longname);
}

/* ---- the host ---------------------------------------------------------------------------------- */

static const sfk_host_ops server_ops = {
    .fire = server_fire,
    .settings = server_settings,
    .notify_on_file_operations = server_notify,
    .entry_get = server_entry_get,
    .entry_put = server_entry_put,
};

sfk_host sfk_server_host(sftpkit_server *s)
{
    sfk_host h = {s ? &server_ops : NULL, s};
    return h;
}

struct sfk_sftp_registry *sfk_server_registry(sftpkit_server *s, struct sfk_sftp_registry *fresh)
{
    sfk_lock(s);
    struct sfk_sftp_registry *r = s->sftp;
    if (!r && fresh)
        r = s->sftp = fresh;
    sfk_unlock(s);
    return r;
}

/* ---- status messages --------------------------------------------------------------------------- */

const char *sfk_host_message_pending(void)
{
    return sfk_status_message_pending();
}

void sfk_host_message_clear(void)
{
    sfk_status_message_clear();
}

char *sfk_host_message_take(void)
{
    return sfk_status_message_take();
}

void sfk_host_message_give(char *msg)
{
    sfk_status_message_give(msg);
}

char *sfk_host_message_copy(const char *message, int *oom)
{
    return sfk_status_message_copy(message, oom);
}

/* ---- teardown ---------------------------------------------------------------------------------- */

void sfk_sftp_registry_destroy(sftpkit_server *s)
{
    /* the registry stays reachable while its pool finishes the handlers of ended sessions */
    sfk_sftp_registry_free(s->sftp);
    s->sftp = NULL;
}
