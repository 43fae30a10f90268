/* Reply encoders: every reply goes straight into the output queue (no intermediate buffer). */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "sftp/engine_int.h"
#include "sftp/host.h"
#include "sftp/status.h"

void sfk_reply_status(sfk_engine *e, uint32_t id, int status)
{
    int code = sfk_status_for_version(status, e->version);
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_STATUS);
    sfk_wr_u32(&e->out, id);
    sfk_wr_u32(&e->out, (uint32_t)code);
    if (e->version >= 3) { /* v3 added the message and language tag */
        /* a handler's own text (sftpkit_event_set_status_message) goes with failures only */
        const char *custom = code != SSH_FX_OK ? sfk_host_message_pending() : NULL;
        sfk_wr_cstr(&e->out, custom ? custom : sfk_status_message(code));
        sfk_wr_str(&e->out, "", 0);
    }
    sfk_host_message_clear();
    sfk_wr_end(&e->out, start);
}

void sfk_reply_errno(sfk_engine *e, uint32_t id, int neg_errno)
{
    sfk_reply_status(e, id, sfk_status_from_errno(-neg_errno));
}

void sfk_reply_handle(sfk_engine *e, uint32_t id, const sfk_handle *h)
{
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_HANDLE);
    sfk_wr_u32(&e->out, id);
    sfk_wr_str(&e->out, h->name, h->name_len);
    sfk_wr_end(&e->out, start);
}

/* v4+ sends owner and group as names: a copy of a with the (cached) names filled in. */
static const sfk_attrs *with_names(sfk_engine *e, const sfk_attrs *a, sfk_attrs *tmp, const char *owner,
                                   const char *group)
{
    if (e->version < 4 || (a->flags & SFK_A_NAMES) || !(a->flags & SFK_A_UIDGID))
        return a;
    char utmp[16], gtmp[16];
    *tmp = *a;
    snprintf(tmp->owner, sizeof tmp->owner, "%s", owner ? owner : sfk_user_name(e, a->uid, utmp));
    snprintf(tmp->group, sizeof tmp->group, "%s", group ? group : sfk_group_name(e, a->gid, gtmp));
    tmp->flags |= SFK_A_NAMES;
    return tmp;
}

void sfk_reply_attrs(sfk_engine *e, uint32_t id, const sfk_attrs *a)
{
    sfk_attrs named;
    a = with_names(e, a, &named, NULL, NULL);
    if (e->version >= 4 && (e->want_attrs & SSH_FILEXFER_ATTR_ACL) && a->flags) {
        if (a != &named)
            named = *a;
        named.flags |= SFK_A_ACL; /* asked for: no ACLs here, so an empty one */
        a = &named;
    }
    /* v6 allocation-size only when the STAT flags ask for it: lftp 4.9 and phpseclib 3.0 do not
     * skip that field and misread everything after it */
    if ((a->flags & SFK_A_ALLOC) && !(e->want_attrs & SSH_FILEXFER_ATTR_ALLOCATION_SIZE)) {
        if (a != &named)
            named = *a;
        named.flags &= ~(uint32_t)SFK_A_ALLOC;
        a = &named;
    }
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_ATTRS);
    sfk_wr_u32(&e->out, id);
    sfk_attrs_encode(&e->out, e->version, a);
    sfk_wr_end(&e->out, start);
}

void sfk_reply_name1(sfk_engine *e, uint32_t id, const char *name)
{
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_NAME);
    sfk_wr_u32(&e->out, id);
    sfk_wr_u32(&e->out, 1);
    sfk_wr_cstr(&e->out, name);
    if (e->version < 4) /* v4 dropped the long name */
        sfk_wr_cstr(&e->out, name);
    sfk_attrs a = {0};
    sfk_attrs_encode(&e->out, e->version, &a);
    sfk_wr_end(&e->out, start);
}

void sfk_encode_entry(sfk_engine *e, sfk_buf *b, const char *name, size_t name_len, const sfk_attrs *a,
                      const char *owner, const char *group)
{
    if (e->version >= 4) { /* no long name; owner and group travel as names in the attributes */
        sfk_attrs named, noalloc;
        sfk_wr_str(b, name, name_len);
        if (a->flags & SFK_A_ALLOC) { /* no allocation-size in listings (sfk_reply_attrs) */
            noalloc = *a;
            noalloc.flags &= ~(uint32_t)SFK_A_ALLOC;
            a = &noalloc;
        }
        sfk_attrs_encode(b, e->version, with_names(e, a, &named, owner, group));
        return;
    }
    char utmp[16], gtmp[16];
    if (!owner)
        owner = a->flags & SFK_A_UIDGID ? sfk_user_name(e, a->uid, utmp) : "0";
    if (!group)
        group = a->flags & SFK_A_UIDGID ? sfk_group_name(e, a->gid, gtmp) : "0";
    sfk_wr_str(b, name, name_len);
    char longname[SFK_PATH_MAX + 256];
    int n = sfk_longname(longname, (int)sizeof longname, name, a, owner, group);
    sfk_wr_str(b, longname, (size_t)n);
    sfk_attrs_encode(b, e->version, a);
}

/* ---- owner and group names ------------------------------------------------------------------ */

typedef int (*lookup_fn)(uint32_t id, char *out, size_t cap);

static int lookup_user(uint32_t uid, char *out, size_t cap)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res)
        return -1;
    snprintf(out, cap, "%s", res->pw_name);
    return 0;
}

static int lookup_group(uint32_t gid, char *out, size_t cap)
{
    struct group gr, *res = NULL;
    char buf[1024];
    if (getgrgid_r(gid, &gr, buf, sizeof buf, &res) != 0 || !res)
        return -1;
    snprintf(out, cap, "%s", res->gr_name);
    return 0;
}

int sfk_lookup_user(uint32_t uid, char *out, size_t cap)
{
    int rc = lookup_user(uid, out, cap);
    if (rc)
        snprintf(out, cap, "%u", uid);
    return rc;
}

int sfk_lookup_group(uint32_t gid, char *out, size_t cap)
{
    int rc = lookup_group(gid, out, cap);
    if (rc)
        snprintf(out, cap, "%u", gid);
    return rc;
}

/* A direct-mapped cache: `ls -l` of a large directory asks for the same few ids thousands of
 * times, and an NSS lookup per entry would dominate the listing. Unknown ids print as numbers. */
static const char *cached_name(sfk_name_cache *c, uint32_t id, lookup_fn fn, char tmp[16])
{
    unsigned slot = id % SFK_NAME_CACHE;
    if (c->used[slot] && c->id[slot] == id)
        return c->name[slot];
    char name[33];
    if (fn(id, name, sizeof name) != 0 || strlen(name) >= sizeof c->name[slot]) {
        snprintf(tmp, 16, "%u", id);
        snprintf(name, sizeof name, "%s", tmp);
    }
    c->used[slot] = 1;
    c->id[slot] = id;
    memcpy(c->name[slot], name, sizeof name);
    return c->name[slot];
}

const char *sfk_user_name(sfk_engine *e, uint32_t uid, char tmp[16])
{
    return cached_name(&e->users, uid, lookup_user, tmp);
}

const char *sfk_group_name(sfk_engine *e, uint32_t gid, char tmp[16])
{
    return cached_name(&e->groups, gid, lookup_group, tmp);
}
