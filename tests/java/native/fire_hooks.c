/*
 * Test-only JNI hooks for the Java tests (class org.sftpkit.FireHooks): fire events on a server
 * the way the transport and the SFTP engine do, from the calling Java thread or from new native
 * threads the JVM has never seen. This exercises the binding's trampoline, thread attachment,
 * write-back and fail-closed policy without a network client.
 *
 * Built as libsftpkit_java_testhooks.so from the static core (symbols kept private with
 * --exclude-libs); it operates on servers created by libsftpkit.so.1 (same sources, same layout).
 * Never packaged.
 */
#include <jni.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/events.h"
#include "api/events_gen.h"

#define HOOK(name) JNIEXPORT jint JNICALL Java_org_sftpkit_FireHooks_##name

static sftpkit_server *server_of(jlong p)
{
    return (sftpkit_server *)(intptr_t)p;
}

/* A NUL-terminated copy of a Java byte[] (exact UTF-8 from the test); NULL for null. */
static char *cstr(JNIEnv *env, jbyteArray a)
{
    if (!a)
        return NULL;
    jsize n = (*env)->GetArrayLength(env, a);
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    (*env)->GetByteArrayRegion(env, a, 0, n, (jbyte *)s);
    s[n] = 0;
    return s;
}

static void put_str(JNIEnv *env, jobjectArray out, jsize i, const char *s)
{
    jbyteArray b = NULL;
    if (s) {
        b = (*env)->NewByteArray(env, (jsize)strlen(s));
        if (!b)
            return;
        (*env)->SetByteArrayRegion(env, b, 0, (jsize)strlen(s), (const jbyte *)s);
    }
    (*env)->SetObjectArrayElement(env, out, i, b);
    if (b)
        (*env)->DeleteLocalRef(env, b);
}

/* Fires event `id` generically: parameter i takes ints[i] (bool/int) or strs[i] (string, byte[]
 * UTF-8). After the handler ran, every parameter's value is written back into the arrays (so the
 * test sees what by-ref writes did). Returns 1 when a handler ran. */
HOOK(fire)(JNIEnv *env, jclass cls, jlong s, jint id, jlongArray ints, jobjectArray strs)
{
    (void)cls;
    if (id < 1 || id > SFTPKIT_EVENT_COUNT)
        return -1;
    const sfk_event_desc *d = &sfk_events[id];
    sftpkit_event ev;
    sfk_event_init(&ev, id);
    char *in_strs[SFK_EVENT_MAX_PARAMS] = {0};
    jlong iv[SFK_EVENT_MAX_PARAMS] = {0};
    (*env)->GetLongArrayRegion(env, ints, 0, d->param_count, iv);
    for (int i = 0; i < d->param_count; i++) {
        if (d->params[i].type == SFK_PT_STRING) {
            in_strs[i] = cstr(env, (jbyteArray)(*env)->GetObjectArrayElement(env, strs, i));
            ev.v[i].s = in_strs[i] ? in_strs[i] : "";
        } else {
            ev.v[i].i = iv[i];
        }
    }
    int ran = sfk_event_dispatch(server_of(s), &ev);
    for (int i = 0; i < d->param_count; i++) {
        if (d->params[i].type == SFK_PT_STRING)
            put_str(env, strs, i, ev.v[i].s);
        else
            iv[i] = ev.v[i].i;
    }
    (*env)->SetLongArrayRegion(env, ints, 0, d->param_count, iv);
    sfk_event_cleanup(&ev);
    for (int i = 0; i < SFK_EVENT_MAX_PARAMS; i++)
        free(in_strs[i]);
    return ran;
}

/* on_auth_password through the typed helper, as the transport fires it. out = {accept, force}. */
HOOK(authPassword)
(JNIEnv *env, jclass cls, jlong s, jlong conn, jbyteArray user, jbyteArray password, jint accept_in, jintArray out)
{
    (void)cls;
    char *u = cstr(env, user), *p = cstr(env, password);
    int accept = accept_in, force = 0;
    int ran = sfk_fire_on_auth_password(server_of(s), conn, u ? u : "", p ? p : "", &accept, &force);
    jint o[2] = {accept, force};
    (*env)->SetIntArrayRegion(env, out, 0, 2, o);
    free(u);
    free(p);
    return ran;
}

struct burst {
    sftpkit_server *s;
    int index, count, ran, accepted;
    int auth; /* 0: on_connect, 1: on_auth_password (user "u<index>", accept in 0) */
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    char name[16];
    snprintf(name, sizeof name, "sfk-test-%d", b->index);
    pthread_setname_np(pthread_self(), name);
    for (int i = 0; i < b->count; i++) {
        int64_t conn = (int64_t)b->index * 100000 + i + 1;
        if (b->auth) {
            char user[32];
            snprintf(user, sizeof user, "u%d", b->index);
            int accept = 0, force = 0;
            b->ran += sfk_fire_on_auth_password(b->s, conn, user, "pw", &accept, &force);
            b->accepted += accept;
        } else {
            b->ran += sfk_fire_on_connect(b->s, conn, "127.0.0.1", 40000 + i);
        }
    }
    return NULL;
}

/* `threads` new native threads (named sfk-test-N) each fire `per_thread` events (kind 0:
 * on_connect, 1: on_auth_password). out = {handler calls that ran, accepts}; returns 0, or -1 when
 * a thread could not be started. */
HOOK(burst)(JNIEnv *env, jclass cls, jlong s, jint kind, jint threads, jint per_thread, jintArray out)
{
    (void)cls;
    if (threads < 1 || threads > 64)
        return -1;
    pthread_t tid[64];
    struct burst b[64];
    int started = 0;
    for (int t = 0; t < threads; t++) {
        b[t] = (struct burst){server_of(s), t, per_thread, 0, 0, kind};
        if (pthread_create(&tid[t], NULL, burst_main, &b[t]) != 0)
            break;
        started++;
    }
    jint o[2] = {0, 0};
    for (int t = 0; t < started; t++) {
        pthread_join(tid[t], NULL);
        o[0] += b[t].ran;
        o[1] += b[t].accepted;
    }
    (*env)->SetIntArrayRegion(env, out, 0, 2, o);
    return started == threads ? 0 : -1;
}
