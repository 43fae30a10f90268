/* The handle table. Generated handle strings encode their slot (16 characters of base 32: 16
 * bits of slot and a 64-bit serial), so READ and WRITE find their file without searching; handle
 * strings the application chose in on_open_file / on_find_first are found by a scan.
 *
 * The serial is process-wide, so no two handles of any session of any server are ever the same
 * string: application code that keys its state by handle alone cannot mix up two sessions. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sftp/engine_int.h"
#include "sftp/version.h"

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

#define SFK_HANDLE_ID_LEN 16 /* 80 bits: slot (16) and serial (64) */

_Static_assert(SFK_SFTP_MAX_HANDLES <= 65536u, "a slot must fit the handle's 16 slot bits");

static atomic_uint_fast64_t next_serial = 1;

static void encode_id(uint32_t slot, uint64_t serial, char out[SFK_HANDLE_ID_LEN + 1])
{
    /* characters 4..15 carry the serial's low 60 bits, 0..3 the slot and its top 4 bits */
    for (int i = SFK_HANDLE_ID_LEN - 1; i >= 4; i--, serial >>= 5)
        out[i] = b32[serial & 31];
    uint32_t top = (uint32_t)(slot << 4) | (uint32_t)(serial & 15); /* 20 bits left */
    for (int i = 3; i >= 0; i--, top >>= 5)
        out[i] = b32[top & 31];
    out[SFK_HANDLE_ID_LEN] = '\0';
}

static int decode_id(const uint8_t *s, size_t len, uint32_t *slot)
{
    if (len != SFK_HANDLE_ID_LEN)
        return -1;
    uint32_t top = 0;
    for (size_t i = 0; i < SFK_HANDLE_ID_LEN; i++) {
        const char *p = s[i] ? strchr(b32, s[i]) : NULL;
        if (!p)
            return -1;
        if (i < 4)
            top = top << 5 | (uint32_t)(p - b32);
    }
    *slot = top >> 4;
    return 0;
}

sfk_handle *sfk_handle_new(sfk_engine *e, sfk_handle_kind kind, const char *abs_path)
{
    sfk_handle_table *t = &e->handles;
    if (t->used >= SFK_SFTP_MAX_HANDLES)
        return NULL;
    if (e->handle_quota && e->handle_quota(e->quota_ctx, 1)) /* the server-wide cap */
        return NULL;
    char *path = strdup(abs_path);
    if (!path) {
        if (e->handle_quota)
            e->handle_quota(e->quota_ctx, -1);
        return NULL;
    }
    if (t->used == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        if (cap > SFK_SFTP_MAX_HANDLES)
            cap = SFK_SFTP_MAX_HANDLES;
        pthread_mutex_lock(&e->ctx_lock); /* other threads may be reading the table */
        sfk_handle *slots = realloc(t->slots, cap * sizeof *slots);
        if (slots) {
            memset(slots + t->cap, 0, (cap - t->cap) * sizeof *slots);
            for (uint32_t k = 0; k < t->cap; k++) /* generated names live in the moved slots */
                if (!slots[k].named)
                    slots[k].name = slots[k].id;
            t->slots = slots;
            t->cap = cap;
        }
        pthread_mutex_unlock(&e->ctx_lock);
        if (!slots) {
            free(path);
            if (e->handle_quota)
                e->handle_quota(e->quota_ctx, -1);
            return NULL;
        }
    }
    uint32_t i = 0;
    while (t->slots[i].kind != SFK_H_FREE)
        i++;
    pthread_mutex_lock(&e->ctx_lock);
    sfk_handle *h = &t->slots[i];
    memset(h, 0, sizeof *h);
    h->gen = atomic_fetch_add(&next_serial, 1);
    h->kind = kind;
    h->fd = -1;
    h->path = path;
    encode_id(i, h->gen, h->id);
    h->name = h->id;
    h->name_len = SFK_HANDLE_ID_LEN;
    t->used++;
    pthread_mutex_unlock(&e->ctx_lock);
    return h;
}

sfk_handle *sfk_handle_find(sfk_engine *e, const uint8_t *name, size_t len)
{
    sfk_handle_table *t = &e->handles;
    uint32_t slot;
    if (decode_id(name, len, &slot) == 0 && slot < t->cap) {
        sfk_handle *h = &t->slots[slot];
        if (h->kind != SFK_H_FREE && h->name_len == len && !memcmp(h->name, name, len))
            return h;
    }
    for (uint32_t i = 0; i < t->cap; i++) {
        sfk_handle *h = &t->slots[i];
        if (h->kind != SFK_H_FREE && h->named && h->name_len == len && !memcmp(h->name, name, len))
            return h;
    }
    return NULL;
}

sfk_handle *sfk_take_handle(sfk_engine *e, sfk_rd *rd)
{
    size_t len;
    const uint8_t *s = sfk_rd_str(rd, &len);
    return rd->bad ? NULL : sfk_handle_find(e, s, len);
}

int sfk_handle_rename(sfk_engine *e, sfk_handle *h, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == h->name_len && !memcmp(name, h->name, len))
        return 0;
    if (len == 0 || len > SFK_SFTP_MAX_HANDLE_LEN || sfk_handle_find(e, (const uint8_t *)name, len))
        return -1;
    char *copy = strdup(name);
    if (!copy)
        return -1;
    pthread_mutex_lock(&e->ctx_lock);
    if (h->named)
        free(h->name);
    h->name = copy;
    h->name_len = len;
    h->named = 1;
    pthread_mutex_unlock(&e->ctx_lock);
    return 0;
}

void sfk_handle_release(sfk_engine *e, sfk_handle *h)
{
    pthread_mutex_lock(&e->ctx_lock);
    if (h->named)
        free(h->name);
    free(h->path);
    sfk_buf_free(&h->listing);
    sfk_locks_free(h);
    uint64_t gen = h->gen;
    memset(h, 0, sizeof *h);
    h->gen = gen;
    h->kind = SFK_H_FREE;
    h->fd = -1;
    e->handles.used--;
    pthread_mutex_unlock(&e->ctx_lock);
    if (e->handle_quota)
        e->handle_quota(e->quota_ctx, -1);
}

int sfk_close_file(sfk_engine *e, sfk_handle *h);

void sfk_handles_close_all(sfk_engine *e)
{
    sfk_handle_table *t = &e->handles;
    for (uint32_t i = 0; i < t->cap; i++) {
        sfk_handle *h = &t->slots[i];
        if (h->kind == SFK_H_FILE)
            sfk_close_file(e, h);
        else if (h->kind == SFK_H_DIR)
            sfk_close_dir(e, h);
    }
}

void sfk_handles_free(sfk_engine *e)
{
    free(e->handles.slots);
    e->handles.slots = NULL;
    e->handles.cap = e->handles.used = 0;
}
