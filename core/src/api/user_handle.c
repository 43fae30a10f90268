/* user_handle: every user object has a handle of its own (unique in the process, assigned when
 * the slot is created); setting a slot's user_handle to another user's handle copies that user
 * into the slot, every user_* column, while the slot keeps its own handle. The reference
 * document's way to "assign objects of the same type without copying them fieldwise". */
#include <inttypes.h>
#include <stdatomic.h>

#include "api/errors.h"
#include "api/hooks.h"
#include "api/server.h"

int64_t sfk_next_object_handle(void)
{
    static atomic_int_fast64_t next = 1;
    return atomic_fetch_add(&next, 1);
}

static int copy_value(sfk_value *dst, const sfk_value *src, sfk_type type)
{
    switch (type) {
    case SFK_T_STRING:
        return sfk_value_set_str(dst, src->s ? src->s : "");
    case SFK_T_BYTES:
        return sfk_value_set_bytes(dst, src->b, src->n);
    default:
        dst->i = src->i;
        return 0;
    }
}

int sfk_hook_user_handle(sftpkit_server *s, int64_t index, int64_t value)
{
    int64_t count = s->lists[SFK_LIST_USER].count, from = -1;
    for (int64_t i = 0; i < count && from < 0; i++)
        if (sfk_value_slot(s, SFK_P_USER_HANDLE, i)->i == value)
            from = i;
    if (from < 0)
        return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "user_handle: no user of this server has handle %" PRId64, value);
    if (from == index)
        return 0;
    /* Copies first, then the swap: a copy is all or nothing (out of memory changes nothing). */
    sfk_value copies[SFK_PROP_COUNT] = {{0}};
    int rc = 0;
    for (int p = 0; p < SFK_PROP_COUNT && !rc; p++)
        if (sfk_props[p].list == SFK_LIST_USER && p != SFK_P_USER_HANDLE)
            rc = copy_value(&copies[p], sfk_value_slot(s, (sfk_prop_id)p, from), sfk_props[p].type);
    for (int p = 0; p < SFK_PROP_COUNT; p++) {
        if (sfk_props[p].list != SFK_LIST_USER || p == SFK_P_USER_HANDLE)
            continue;
        if (rc) {
            sfk_value_clear(&copies[p]);
        } else {
            sfk_value *dst = sfk_value_slot(s, (sfk_prop_id)p, index);
            sfk_value_clear(dst);
            *dst = copies[p];
        }
    }
    if (rc)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    return 0;
}
