#include "server/admission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/config.h"
#include "api/errors.h"
#include "api/props.h"

int64_t sfk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sfk_startups_parse(const char *text, sfk_startups *out)
{
    int a = 0, b = 0, c = 0, used = 0;
    if (!text)
        return -1;
    if (sscanf(text, "%d:%d:%d%n", &a, &b, &c, &used) == 3 && !text[used]) {
        if (a < 1 || b < 1 || b > 100 || c < a)
            return -1;
    } else if (sscanf(text, "%d%n", &a, &used) == 1 && !text[used] && a >= 0) {
        b = 100, c = a;
    } else {
        return -1;
    }
    *out = (sfk_startups){.start = a, .rate = b, .full = c};
    return 0;
}

int sfk_startups_drop(const sfk_startups *m, int unauth, int draw)
{
    if (m->full <= 0 || unauth < m->start)
        return 0;
    if (unauth >= m->full)
        return 1;
    /* OpenSSH's curve: rate % at start, rising linearly to 100 % at full */
    int p = m->rate + (100 - m->rate) * (unauth - m->start) / (m->full - m->start);
    return draw < p;
}

int sfk_limits_load(sftpkit_server *s, sfk_limits *l)
{
    char *text = sfk_config_str(s, SFK_CFG_MAXSTARTUPS);
    int bad = sfk_startups_parse(text ? text : "", &l->startups);
    if (bad) {
        int rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                           "start: MaxStartups \"%s\" is not start:rate:full (1 <= rate <= 100, start <= full) or N",
                           text ? text : "");
        free(text);
        return rc;
    }
    free(text);
    l->per_source_startups = (int)sfk_config_int(s, SFK_CFG_PERSOURCEMAXSTARTUPS);
    l->max_connections = (int)sfk_config_int(s, SFK_CFG_MAXCONNECTIONS);
    l->max_per_address = (int)sfk_config_int(s, SFK_CFG_MAXCONNECTIONSPERADDRESS);
    l->max_per_user = (int)sfk_config_int(s, SFK_CFG_MAXSESSIONSPERUSER);
    l->fail_delay_ms = sfk_config_int(s, SFK_CFG_AUTHFAILUREDELAY);
    l->fail_max_delay_ms = sfk_config_int(s, SFK_CFG_AUTHFAILUREMAXDELAY);
    l->ban_threshold = sfk_config_int(s, SFK_CFG_SOURCEBANTHRESHOLD);
    l->ban_ms = sfk_config_int(s, SFK_CFG_SOURCEBANTIME) * 1000;
    l->alive_interval_ms = sfk_config_int(s, SFK_CFG_CLIENTALIVEINTERVAL) * 1000;
    l->alive_count_max = sfk_config_int(s, SFK_CFG_CLIENTALIVECOUNTMAX);
    l->drop_grace_ms = sfk_config_int(s, SFK_CFG_DROPGRACETIME);
    l->socket_timeout_ms = sfk_prop_int(s, SFK_P_SOCKET_TIMEOUT, -1);
    return 0;
}

void sfk_penalty_init(sfk_penalty *p)
{
    pthread_mutex_init(&p->lock, NULL);
    p->slots = NULL;
}

void sfk_penalty_destroy(sfk_penalty *p)
{
    free(p->slots);
    p->slots = NULL;
    pthread_mutex_destroy(&p->lock);
}

#define PROBE 8

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The slot of address, or NULL; with create, a free or the stalest slot of its probe window. */
static sfk_source *find(sfk_penalty *p, const char *address, int create)
{
    if (!p->slots) {
        if (!create)
            return NULL;
        p->slots = calloc(SFK_SOURCE_SLOTS, sizeof *p->slots);
        if (!p->slots)
            return NULL;
    }
    uint32_t h = hash(address);
    sfk_source *victim = NULL;
    for (int i = 0; i < PROBE; i++) {
        sfk_source *e = &p->slots[(h + (uint32_t)i) % SFK_SOURCE_SLOTS];
        if (!strcmp(e->address, address))
            return e;
        int64_t age = e->address[0]
                          ? (e->banned_until_ms > e->last_failure_ms ? e->banned_until_ms : e->last_failure_ms)
                          : INT64_MIN;
        int64_t vage =
            victim ? (victim->address[0] ? (victim->banned_until_ms > victim->last_failure_ms ? victim->banned_until_ms
                                                                                              : victim->last_failure_ms)
                                         : INT64_MIN)
                   : INT64_MAX;
        if (!victim || age < vage)
            victim = e;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    snprintf(victim->address, sizeof victim->address, "%s", address);
    return victim;
}

int64_t sfk_penalty_fail(sfk_penalty *p, const sfk_limits *l, const char *address, int64_t now, int *banned)
{
    *banned = 0;
    pthread_mutex_lock(&p->lock);
    sfk_source *e = find(p, address, 1);
    int64_t delay = l->fail_delay_ms;
    if (e) {
        if (now - e->last_failure_ms > l->ban_ms && e->banned_until_ms <= now)
            e->failures = 0; /* forgotten: a quiet period as long as a ban */
        e->failures++;
        e->last_failure_ms = now;
        if (l->ban_threshold > 0 && e->failures >= l->ban_threshold && e->banned_until_ms <= now)
            e->banned_until_ms = now + l->ban_ms;
        *banned = e->banned_until_ms > now;
        /* exponential: base, 2*base, 4*base ... for this address's recent failures */
        int shift = e->failures - 1 > 20 ? 20 : (int)e->failures - 1;
        delay = l->fail_delay_ms << shift;
    }
    pthread_mutex_unlock(&p->lock);
    return delay > l->fail_max_delay_ms ? l->fail_max_delay_ms : delay;
}

int sfk_penalty_banned(sfk_penalty *p, const char *address, int64_t now)
{
    pthread_mutex_lock(&p->lock);
    sfk_source *e = find(p, address, 0);
    int banned = e && e->banned_until_ms > now;
    pthread_mutex_unlock(&p->lock);
    return banned;
}
