/*
 * Java typemaps and JNI glue for the sftpkit C ABI (swig -java -package org.sftpkit). Included by
 * swig/sftpkit.i when SWIGJAVA is defined, before the API declarations.
 *
 * The SWIG layer for Java is deliberately thin and package-private: every C function becomes a
 * static method of the package-private class SFTPKitNative that returns the raw int status; the
 * generated idiomatic layer (tools/gen/gen_java.py -> org.sftpkit.SFTPServer, events, constants)
 * turns statuses into SFTPKitException and owns naming, events and lifetimes. Rules here:
 *
 *  - Handles (sftpkit_server*, sftpkit_key*, sftpkit_event*) cross as long: lifetimes belong to
 *    SFTPServer / SSHKey (AutoCloseable), not to SWIG proxy objects.
 *  - Strings never use JNI's Modified UTF-8 (GetStringUTFChars / NewStringUTF turn non-BMP
 *    characters into CESU-8 surrogate pairs and NUL into two bytes). Input strings cross as
 *    NUL-terminated UTF-8 byte[] made by org.sftpkit.Utf8.z(); output strings cross as byte[] and
 *    are decoded in Java with StandardCharsets.UTF_8.
 *  - Out-parameters are one-element arrays (int[], long[], byte[][]); a buffer the library
 *    returned is copied into a Java array and released with sftpkit_free right away.
 *  - Events: one native trampoline per process calls SFTPServer's package-private dispatcher on the
 *    server thread. Native threads are attached to the JVM once, as daemons, and detached by a
 *    pthread-key destructor when they end; the dispatcher is held by a global reference that the
 *    library's destroy_user releases; no Java exception ever propagates into C.
 */

%pragma(java) jniclassclassmodifiers="final class"
%pragma(java) moduleclassmodifiers="final class"
%pragma(java) jniclasscode=%{
  static {
    NativeLoader.load();
  }
%}

%{
#include <jni.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
%}

/* Raw buffers, function pointers and the generic handler install are the glue's business. */
%ignore sftpkit_free;
%ignore sftpkit_server_set_event_handler;

/* ---- helpers shared by the typemaps ---------------------------------------------------------- */
%{
/* A Java byte[] copy of len bytes at p; NULL (with an exception pending) if the JVM is out of memory. */
static jbyteArray sfk_java_bytes(JNIEnv *jenv, const void *p, size_t len)
{
    if (len > (size_t)INT32_MAX) {
        SWIG_JavaThrowException(jenv, SWIG_JavaRuntimeException, "sftpkit: buffer larger than 2 GiB");
        return NULL;
    }
    jbyteArray a = (*jenv)->NewByteArray(jenv, (jsize)len);
    if (a && len)
        (*jenv)->SetByteArrayRegion(jenv, a, 0, (jsize)len, (const jbyte *)p);
    return a;
}

/* Stores b (may be NULL) in arr[0] and drops the local reference. */
static void sfk_java_store0(JNIEnv *jenv, jobjectArray arr, jobject b)
{
    if (!(*jenv)->ExceptionCheck(jenv))
        (*jenv)->SetObjectArrayElement(jenv, arr, 0, b);
    if (b)
        (*jenv)->DeleteLocalRef(jenv, b);
}

/* Out-arrays must hold at least one element: the wrapper writes index 0. */
static int sfk_java_out_ok(JNIEnv *jenv, jarray arr)
{
    if (!arr || (*jenv)->GetArrayLength(jenv, arr) < 1) {
        SWIG_JavaThrowException(jenv, SWIG_JavaNullPointerException, "sftpkit: out array must have length >= 1");
        return 0;
    }
    return 1;
}
%}

/* ---- opaque handles as long ------------------------------------------------------------------ */
%define SFK_JAVA_HANDLE(TYPE)
%typemap(jni) TYPE *, const TYPE * "jlong"
%typemap(jtype) TYPE *, const TYPE * "long"
%typemap(jstype) TYPE *, const TYPE * "long"
%typemap(in) TYPE *, const TYPE * %{ $1 = ($1_ltype)(intptr_t)$input; %}
%typemap(out) TYPE *, const TYPE * %{ $result = (jlong)(intptr_t)$1; %}
%typemap(javain) TYPE *, const TYPE * "$javainput"
%typemap(javaout) TYPE *, const TYPE * { return $jnicall; }
%enddef
SFK_JAVA_HANDLE(sftpkit_server)
SFK_JAVA_HANDLE(sftpkit_key)
SFK_JAVA_HANDLE(sftpkit_event)
/* the deferred-completion token: owned by org.sftpkit.PendingRequest until it completes it */
SFK_JAVA_HANDLE(sftpkit_request)

/* ---- UTF-8 strings: in as NUL-terminated byte[], library-owned results out as byte[] ----------- */
%typemap(jni) const char * "jbyteArray"
%typemap(jtype) const char * "byte[]"
%typemap(jstype) const char * "byte[]"
%typemap(javain) const char * "$javainput"
%typemap(javaout) const char * { return $jnicall; }
%typemap(in) const char * {
  $1 = NULL;
  if ($input) {
    jsize n_ = (*jenv)->GetArrayLength(jenv, $input);
    $1 = ($1_ltype)(*jenv)->GetByteArrayElements(jenv, $input, NULL);
    if (!$1)
      return $null;
    if (n_ < 1 || $1[n_ - 1] != 0) {
      (*jenv)->ReleaseByteArrayElements(jenv, $input, (jbyte *)$1, JNI_ABORT);
      SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, "sftpkit: string argument is not NUL-terminated");
      return $null;
    }
  }
}
%typemap(freearg) const char * %{ if ($1) (*jenv)->ReleaseByteArrayElements(jenv, $input, (jbyte *)$1, JNI_ABORT); %}
/* const char* results are static or thread-local strings owned by the library: copy, never free. */
%typemap(out) const char * %{ $result = $1 ? sfk_java_bytes(jenv, $1, strlen($1)) : NULL; %}

/* ---- out-parameters -------------------------------------------------------------------------- */
/* char** out: a string the caller frees with sftpkit_free -> byte[][1] */
%typemap(jni) char ** "jobjectArray"
%typemap(jtype) char ** "byte[][]"
%typemap(jstype) char ** "byte[][]"
%typemap(javain) char ** "$javainput"
%typemap(in) char ** (char *temp = NULL) %{
  if (!sfk_java_out_ok(jenv, $input))
    return $null;
  $1 = &temp;
%}
%typemap(argout) char ** %{
  if (temp$argnum)
    sfk_java_store0(jenv, $input, sfk_java_bytes(jenv, temp$argnum, strlen(temp$argnum)));
%}
%typemap(freearg) char ** %{ sftpkit_free(temp$argnum); %}

/* const char** out: a static string (event parameter names) -> byte[][1] */
%typemap(jni) const char ** "jobjectArray"
%typemap(jtype) const char ** "byte[][]"
%typemap(jstype) const char ** "byte[][]"
%typemap(javain) const char ** "$javainput"
%typemap(in) const char ** (const char *temp = NULL) %{
  if (!sfk_java_out_ok(jenv, $input))
    return $null;
  $1 = ($1_ltype)&temp;
%}
%typemap(freearg) const char ** "" /* static: nothing to free (and not the char** rule) */
%typemap(argout) const char ** %{
  if (temp$argnum)
    sfk_java_store0(jenv, $input, sfk_java_bytes(jenv, temp$argnum, strlen(temp$argnum)));
%}

/* int* / int64_t* out -> int[1] / long[1] */
%define SFK_JAVA_SCALAR_OUT(CTYPE, JNITYPE, JAVATYPE, ARRAYTYPE, SETTER)
%typemap(jni) CTYPE * #ARRAYTYPE
%typemap(jtype) CTYPE * #JAVATYPE "[]"
%typemap(jstype) CTYPE * #JAVATYPE "[]"
%typemap(javain) CTYPE * "$javainput"
%typemap(in) CTYPE * (CTYPE temp = 0) %{
  if (!sfk_java_out_ok(jenv, $input))
    return $null;
  $1 = &temp;
%}
%typemap(argout) CTYPE * %{
  {
    JNITYPE v_ = (JNITYPE)temp$argnum;
    (*jenv)->SETTER(jenv, $input, 0, 1, &v_);
  }
%}
%enddef
SFK_JAVA_SCALAR_OUT(int, jint, int, jintArray, SetIntArrayRegion)
SFK_JAVA_SCALAR_OUT(int64_t, jlong, long, jlongArray, SetLongArrayRegion)

/* (uint8_t **out, size_t *len): a buffer the caller frees -> byte[][1] */
%typemap(jni) (uint8_t **out, size_t *len) "jobjectArray"
%typemap(jtype) (uint8_t **out, size_t *len) "byte[][]"
%typemap(jstype) (uint8_t **out, size_t *len) "byte[][]"
%typemap(javain) (uint8_t **out, size_t *len) "$javainput"
%typemap(in) (uint8_t **out, size_t *len) (uint8_t *temp = NULL, size_t tlen = 0) %{
  if (!sfk_java_out_ok(jenv, $input))
    return $null;
  $1 = &temp;
  $2 = &tlen;
%}
%typemap(argout) (uint8_t **out, size_t *len) %{
  if (temp$argnum || result == 0)
    sfk_java_store0(jenv, $input, sfk_java_bytes(jenv, temp$argnum, tlen$argnum));
%}
%typemap(freearg) (uint8_t **out, size_t *len) %{ sftpkit_free(temp$argnum); %}

/* (const uint8_t *v, size_t len) in <- byte[] (null means empty) */
%typemap(jni) (const uint8_t *v, size_t len) "jbyteArray"
%typemap(jtype) (const uint8_t *v, size_t len) "byte[]"
%typemap(jstype) (const uint8_t *v, size_t len) "byte[]"
%typemap(javain) (const uint8_t *v, size_t len) "$javainput"
%typemap(in) (const uint8_t *v, size_t len) %{
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $2 = (size_t)(*jenv)->GetArrayLength(jenv, $input);
    $1 = ($1_ltype)(*jenv)->GetByteArrayElements(jenv, $input, NULL);
    if (!$1)
      return $null;
  }
%}
%typemap(freearg) (const uint8_t *v, size_t len) %{
  if ($1)
    (*jenv)->ReleaseByteArrayElements(jenv, $input, (jbyte *)$1, JNI_ABORT);
%}
/* (const uint8_t **data, size_t *len): a library-owned view (a deferred WRITE's data) -> a
 * byte[][1] copy; nothing to free */
%typemap(jni) (const uint8_t **data, size_t *len) "jobjectArray"
%typemap(jtype) (const uint8_t **data, size_t *len) "byte[][]"
%typemap(jstype) (const uint8_t **data, size_t *len) "byte[][]"
%typemap(javain) (const uint8_t **data, size_t *len) "$javainput"
%typemap(in) (const uint8_t **data, size_t *len) (const uint8_t *temp = NULL, size_t tlen = 0) %{
  if (!sfk_java_out_ok(jenv, $input))
    return $null;
  $1 = ($1_ltype)(void *)&temp; /* SWIG drops the const of the local; the call restores it */
  $2 = &tlen;
%}
%typemap(argout) (const uint8_t **data, size_t *len) %{
  if (result == 0)
    sfk_java_store0(jenv, $input, sfk_java_bytes(jenv, temp$argnum, tlen$argnum));
%}
%typemap(freearg) (const uint8_t **data, size_t *len) ""

/* Multi-argument typemaps match by name too: the key import spells its buffer `data`. */
%apply (const uint8_t *v, size_t len) { (const uint8_t *data, size_t len) }

/* ---- events: the trampoline, thread attachment and the dispatcher's global reference ---------- */
%{
/* What the library holds as the handler's user pointer for one server. */
typedef struct {
    JavaVM *vm;
    jobject dispatcher; /* global reference: SFTPServer's Dispatcher */
    jmethodID dispatch; /* void dispatch(int eventId, long event) */
    _Atomic uint64_t mask; /* bit n set: event id n has a Java handler (ids are 1..63) */
} sfk_java_user;

static atomic_int sfk_java_live_users; /* dispatchers still referenced from native code */
static pthread_key_t sfk_java_detach_key;
static pthread_once_t sfk_java_detach_once = PTHREAD_ONCE_INIT;
static __thread JNIEnv *sfk_java_tls_env; /* set only on threads this glue attached */

/* pthread-key destructor: runs when a thread we attached ends. Detaching after every call would
 * recreate the java.lang.Thread each time (slow, and it leaks on some VMs). */
static void sfk_java_detach(void *vm)
{
    sfk_java_tls_env = NULL;
    (*(JavaVM *)vm)->DetachCurrentThread((JavaVM *)vm);
}

static void sfk_java_make_key(void)
{
    pthread_key_create(&sfk_java_detach_key, sfk_java_detach);
}

/* The calling thread's JNIEnv, attaching it (as a daemon, named after the native thread) the first
 * time a server thread enters Java. NULL if the VM refuses. */
static JNIEnv *sfk_java_env(JavaVM *vm)
{
    if (sfk_java_tls_env)
        return sfk_java_tls_env;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) == JNI_OK)
        return env; /* a Java thread (or attached by someone else): not ours to detach */
    char name[32] = "sftpkit-worker";
    char native_name[16];
    if (pthread_getname_np(pthread_self(), native_name, sizeof native_name) == 0 && native_name[0])
        snprintf(name, sizeof name, "sftpkit:%s", native_name);
    JavaVMAttachArgs args = {JNI_VERSION_1_8, name, NULL};
    if ((*vm)->AttachCurrentThreadAsDaemon(vm, (void **)&env, &args) != JNI_OK)
        return NULL;
    pthread_once(&sfk_java_detach_once, sfk_java_make_key);
    pthread_setspecific(sfk_java_detach_key, vm);
    sfk_java_tls_env = env;
    return env;
}

/* The one handler for every server with Java listeners. Never lets a Java exception through. */
static int sfk_java_trampoline(void *user, sftpkit_server *s, int event_id, sftpkit_event *ev)
{
    (void)s;
    sfk_java_user *u = (sfk_java_user *)user;
    if (event_id < 1 || event_id > 63 || !(atomic_load(&u->mask) & ((uint64_t)1 << event_id)))
        return 0; /* nobody listens in Java: do not enter the VM at all */
    JNIEnv *env = sfk_java_env(u->vm);
    if (!env)
        return 0;
    if ((*env)->PushLocalFrame(env, 16) != 0) {
        (*env)->ExceptionClear(env);
        return 0;
    }
    (*env)->CallVoidMethod(env, u->dispatcher, u->dispatch, (jint)event_id, (jlong)(intptr_t)ev);
    if ((*env)->ExceptionCheck(env)) {
        /* The Java dispatcher catches Throwable; this is the backstop for errors thrown while it
         * was reporting (StackOverflowError, OutOfMemoryError). */
        (*env)->ExceptionDescribe(env);
        (*env)->ExceptionClear(env);
    }
    (*env)->PopLocalFrame(env, NULL);
    return 0;
}

/* destroy_user: the library no longer needs the dispatcher (handler replaced, server freed). */
static void sfk_java_release(void *user)
{
    sfk_java_user *u = (sfk_java_user *)user;
    JNIEnv *env = sfk_java_env(u->vm);
    if (env)
        (*env)->DeleteGlobalRef(env, u->dispatcher);
    free(u);
    atomic_fetch_sub(&sfk_java_live_users, 1);
}
%}

/* The JNIEnv of the calling Java thread, for the glue functions below (not a Java parameter). */
%typemap(in, numinputs=0) JNIEnv *jenv_ %{ $1 = jenv; %}
%typemap(jni) jobject dispatcher "jobject"
%typemap(jtype) jobject dispatcher "Object"
%typemap(jstype) jobject dispatcher "Object"

%inline %{
/* Installs dispatcher (an object with `void dispatch(int, long)`) as s's event handler with an
 * empty event mask. Returns the native registration (for sfk_java_set_mask), 0 on failure with
 * the library's last error set or a Java exception pending. */
int64_t sfk_java_install(JNIEnv *jenv_, sftpkit_server *s, jobject dispatcher)
{
    if (!dispatcher) {
        SWIG_JavaThrowException(jenv_, SWIG_JavaNullPointerException, "dispatcher");
        return 0;
    }
    jclass cls = (*jenv_)->GetObjectClass(jenv_, dispatcher);
    jmethodID mid = (*jenv_)->GetMethodID(jenv_, cls, "dispatch", "(IJ)V");
    (*jenv_)->DeleteLocalRef(jenv_, cls);
    if (!mid)
        return 0; /* NoSuchMethodError pending */
    sfk_java_user *u = (sfk_java_user *)calloc(1, sizeof *u);
    if (!u) {
        SWIG_JavaThrowException(jenv_, SWIG_JavaOutOfMemoryError, "sftpkit: out of memory");
        return 0;
    }
    if ((*jenv_)->GetJavaVM(jenv_, &u->vm) != 0 || !(u->dispatcher = (*jenv_)->NewGlobalRef(jenv_, dispatcher))) {
        free(u);
        SWIG_JavaThrowException(jenv_, SWIG_JavaOutOfMemoryError, "sftpkit: no global reference");
        return 0;
    }
    u->dispatch = mid;
    atomic_init(&u->mask, 0);
    atomic_fetch_add(&sfk_java_live_users, 1);
    if (sftpkit_server_set_event_handler(s, sfk_java_trampoline, u, sfk_java_release) != 0) {
        /* the library did not take it: release here (the core calls destroy_user only on success) */
        (*jenv_)->DeleteGlobalRef(jenv_, u->dispatcher);
        free(u);
        atomic_fetch_sub(&sfk_java_live_users, 1);
        return 0;
    }
    return (int64_t)(intptr_t)u;
}

/* Which event ids (bit n = id n) cross into Java. Valid while the registration is installed.
 * The core learns the same set: an event without a Java listener or handler is then, to the
 * core, an event without a handler (no event built; fraCustom answers OP_UNSUPPORTED). */
void sfk_java_set_mask(sftpkit_server *s, int64_t registration, int64_t mask)
{
    if (registration)
        atomic_store(&((sfk_java_user *)(intptr_t)registration)->mask, (uint64_t)mask);
    for (int id = 1; s && id <= SFTPKIT_EVENT_COUNT; id++)
        sftpkit_server_set_event_subscribed(s, id, id <= 63 && ((uint64_t)mask & ((uint64_t)1 << id)) != 0);
}

/* Dispatchers still held by native code (the tests check it returns to its baseline). */
int sfk_java_live_registrations(void)
{
    return atomic_load(&sfk_java_live_users);
}
%}

/* ---- caller-owned buffers for get/set_client_buffer (issue 14 item 4) -------------------------
 * The generated setClientBuffer(long, String, byte[]) / getClientBuffer(long, String) copy a
 * whole Java array per call (a fresh byte[] for every READ and WRITE event). These take the
 * application's own memory instead: a direct ByteBuffer by address, or a byte[] region, so a
 * handler that reuses one buffer allocates nothing per event (and get_client_buffer_into copies the
 * WRITE's data straight into that memory). The get_* calls return the number of bytes the write
 * carries; when that is more than `cap` nothing is copied (the Java side reports it). A negative
 * value is -(error code) with the library's last error set. */
%ignore sftpkit_server_get_client_buffer_into; /* raw pointers: wrapped by the functions below */
%typemap(jni) jobject sfk_buf "jobject"
%typemap(jtype) jobject sfk_buf "java.nio.ByteBuffer"
%typemap(jstype) jobject sfk_buf "java.nio.ByteBuffer"
%typemap(javain) jobject sfk_buf "$javainput"
%typemap(jni) jbyteArray sfk_arr "jbyteArray"
%typemap(jtype) jbyteArray sfk_arr "byte[]"
%typemap(jstype) jbyteArray sfk_arr "byte[]"
%typemap(javain) jbyteArray sfk_arr "$javainput"

%{
/* The [pos, pos+len) window of a direct buffer, or NULL with IllegalArgumentException pending. */
static uint8_t *sfk_java_direct_window(JNIEnv *jenv, jobject buf, int32_t pos, int32_t len)
{
    uint8_t *base = buf ? (uint8_t *)(*jenv)->GetDirectBufferAddress(jenv, buf) : NULL;
    jlong cap = base ? (*jenv)->GetDirectBufferCapacity(jenv, buf) : -1;
    if (!base || pos < 0 || len < 0 || (jlong)pos + len > cap) {
        SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException,
                                "sftpkit: not a direct buffer, or the window lies outside it");
        return NULL;
    }
    return base + pos;
}

static int sfk_java_array_window_ok(JNIEnv *jenv, jbyteArray arr, int32_t off, int32_t len)
{
    if (!arr || off < 0 || len < 0 || (jlong)off + len > (*jenv)->GetArrayLength(jenv, arr)) {
        SWIG_JavaThrowException(jenv, SWIG_JavaIndexOutOfBoundsException,
                                "sftpkit: offset/length outside the array");
        return 0;
    }
    return 1;
}
%}

%inline %{
int sfk_java_set_client_buffer_direct(JNIEnv *jenv_, sftpkit_server *s, int64_t connection_id, const char *handle,
                                      jobject sfk_buf, int32_t pos, int32_t len)
{
    uint8_t *p = sfk_java_direct_window(jenv_, sfk_buf, pos, len);
    if (!p)
        return SFTPKIT_ERROR_INVALID_PARAMETER;
    return sftpkit_server_set_client_buffer(s, connection_id, handle, p, (size_t)len);
}

int sfk_java_set_client_buffer_array(JNIEnv *jenv_, sftpkit_server *s, int64_t connection_id, const char *handle,
                                     jbyteArray sfk_arr, int32_t off, int32_t len)
{
    if (!sfk_java_array_window_ok(jenv_, sfk_arr, off, len))
        return SFTPKIT_ERROR_INVALID_PARAMETER;
    /* Critical access pins the array without a copy; the call only copies into the reply
     * (a short lock, no JNI calls, nothing that waits for the application). */
    uint8_t *base = (uint8_t *)(*jenv_)->GetPrimitiveArrayCritical(jenv_, sfk_arr, NULL);
    if (!base)
        return SFTPKIT_ERROR_OUT_OF_MEMORY;
    int rc = sftpkit_server_set_client_buffer(s, connection_id, handle, base + off, (size_t)len);
    (*jenv_)->ReleasePrimitiveArrayCritical(jenv_, sfk_arr, base, JNI_ABORT);
    return rc;
}

int64_t sfk_java_get_client_buffer_direct(JNIEnv *jenv_, sftpkit_server *s, int64_t connection_id,
                                          const char *handle, jobject sfk_buf, int32_t pos, int32_t cap)
{
    uint8_t *p = sfk_java_direct_window(jenv_, sfk_buf, pos, cap);
    if (!p)
        return -SFTPKIT_ERROR_INVALID_PARAMETER;
    size_t len = 0;
    int rc = sftpkit_server_get_client_buffer_into(s, connection_id, handle, p, (size_t)cap, &len);
    if (rc && !(rc == SFTPKIT_ERROR_INVALID_PARAMETER && len > (size_t)cap))
        return -(int64_t)rc;
    return (int64_t)len; /* more than cap: nothing was copied, the caller reports the size */
}

int64_t sfk_java_get_client_buffer_array(JNIEnv *jenv_, sftpkit_server *s, int64_t connection_id,
                                         const char *handle, jbyteArray sfk_arr, int32_t off, int32_t cap)
{
    if (!sfk_java_array_window_ok(jenv_, sfk_arr, off, cap))
        return -SFTPKIT_ERROR_INVALID_PARAMETER;
    /* pinned, not copied: the library copies the WRITE's data straight into the array */
    uint8_t *base = (uint8_t *)(*jenv_)->GetPrimitiveArrayCritical(jenv_, sfk_arr, NULL);
    if (!base)
        return -SFTPKIT_ERROR_OUT_OF_MEMORY;
    size_t len = 0;
    int rc = sftpkit_server_get_client_buffer_into(s, connection_id, handle, base + off, (size_t)cap, &len);
    (*jenv_)->ReleasePrimitiveArrayCritical(jenv_, sfk_arr, base, 0);
    if (rc && !(rc == SFTPKIT_ERROR_INVALID_PARAMETER && len > (size_t)cap))
        return -(int64_t)rc;
    return (int64_t)len;
}
%}

/* ---- the native log to System.Logger ---------------------------------------------------------
 * One sink object per server (org.sftpkit.NativeLog, `void line(int level, byte[] module,
 * byte[] message)`), held by a global reference that destroy_user releases. Lines arrive on server
 * threads (attached like event threads) and on the Java thread inside start()/stop(). */
%typemap(jni) jobject sink "jobject"
%typemap(jtype) jobject sink "Object"
%typemap(jstype) jobject sink "Object"
%{
typedef struct {
    JavaVM *vm;
    jobject sink;   /* global reference */
    jmethodID line; /* void line(int, byte[], byte[]) */
} sfk_java_log_user;

static void sfk_java_log_trampoline(void *user, sftpkit_server *s, int level, const char *module, const char *message)
{
    (void)s;
    sfk_java_log_user *u = (sfk_java_log_user *)user;
    JNIEnv *env = sfk_java_env(u->vm);
    if (!env || (*env)->PushLocalFrame(env, 8) != 0) {
        if (env)
            (*env)->ExceptionClear(env);
        return;
    }
    /* A line may come while the thread already has a Java exception pending (a log line from a
     * library call a Java method made); keep it for the caller. */
    jthrowable pending = (*env)->ExceptionOccurred(env);
    if (pending)
        (*env)->ExceptionClear(env);
    jbyteArray m = sfk_java_bytes(env, module ? module : "", module ? strlen(module) : 0);
    jbyteArray t = m ? sfk_java_bytes(env, message ? message : "", message ? strlen(message) : 0) : NULL;
    if (m && t)
        (*env)->CallVoidMethod(env, u->sink, u->line, (jint)level, m, t);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionDescribe(env);
        (*env)->ExceptionClear(env);
    }
    if (pending)
        (*env)->Throw(env, pending);
    (*env)->PopLocalFrame(env, NULL);
}

static void sfk_java_log_release(void *user)
{
    sfk_java_log_user *u = (sfk_java_log_user *)user;
    JNIEnv *env = sfk_java_env(u->vm);
    if (env)
        (*env)->DeleteGlobalRef(env, u->sink);
    free(u);
}
%}

%inline %{
/* Sends s's native log to sink (null: back to the console). 0 or an error code. */
int sfk_java_set_log_sink(JNIEnv *jenv_, sftpkit_server *s, jobject sink)
{
    if (!sink)
        return sftpkit_server_set_log_handler(s, NULL, NULL, NULL);
    jclass cls = (*jenv_)->GetObjectClass(jenv_, sink);
    jmethodID mid = (*jenv_)->GetMethodID(jenv_, cls, "line", "(I[B[B)V");
    (*jenv_)->DeleteLocalRef(jenv_, cls);
    if (!mid)
        return SFTPKIT_ERROR_INVALID_PARAMETER; /* NoSuchMethodError pending */
    sfk_java_log_user *u = (sfk_java_log_user *)calloc(1, sizeof *u);
    if (!u)
        return SFTPKIT_ERROR_OUT_OF_MEMORY;
    if ((*jenv_)->GetJavaVM(jenv_, &u->vm) != 0 || !(u->sink = (*jenv_)->NewGlobalRef(jenv_, sink))) {
        free(u);
        return SFTPKIT_ERROR_OUT_OF_MEMORY;
    }
    u->line = mid;
    int rc = sftpkit_server_set_log_handler(s, sfk_java_log_trampoline, u, sfk_java_log_release);
    if (rc) { /* not taken: ours to release */
        (*jenv_)->DeleteGlobalRef(jenv_, u->sink);
        free(u);
    }
    return rc;
}
%}

/* ---- cancellation of a deferred request (issue 14 item 3) -------------------------------------
 * The library tells a deferred request's cancellation (client gone, connection dropped, server
 * stopping) through a C callback on the thread that ends the session. Java's side is the static
 * org.sftpkit.PendingRequest.nativeCancelled(long key, int reason): the user pointer is only that
 * key (a number in PendingRequest's table), never a JNI reference, so a callback that races with
 * the request's completion finds no entry and does nothing — there is nothing native to free and
 * the core's cancel handler needs no destroy_user. The callback must not block: the Java side only
 * cancels a future (its dependents run there; the binding's own complete the token at once). */
%{
static JavaVM *sfk_java_cancel_vm;
static jclass sfk_java_cancel_cls; /* global reference to org.sftpkit.PendingRequest */
static jmethodID sfk_java_cancel_mid;
static pthread_mutex_t sfk_java_cancel_init = PTHREAD_MUTEX_INITIALIZER;

static void sfk_java_cancel_trampoline(void *user, sftpkit_request *r, int reason)
{
    (void)r;
    JNIEnv *env = sfk_java_env(sfk_java_cancel_vm);
    if (!env || (*env)->PushLocalFrame(env, 8) != 0) {
        if (env)
            (*env)->ExceptionClear(env);
        return;
    }
    /* This may run inside a Java call into the library (stop(), or set_cancel_handler on a
     * request already cancelled) with an exception pending: keep it for the caller. */
    jthrowable pending = (*env)->ExceptionOccurred(env);
    if (pending)
        (*env)->ExceptionClear(env);
    (*env)->CallStaticVoidMethod(env, sfk_java_cancel_cls, sfk_java_cancel_mid, (jlong)(intptr_t)user, (jint)reason);
    if ((*env)->ExceptionCheck(env)) {
        (*env)->ExceptionDescribe(env);
        (*env)->ExceptionClear(env);
    }
    if (pending)
        (*env)->Throw(env, pending);
    (*env)->PopLocalFrame(env, NULL);
}
%}

%inline %{
/* Asks the library to call PendingRequest.nativeCancelled(key, reason) when r is cancelled (at
 * once, on this thread, if it already was). 0 or an error code. */
int sfk_java_request_watch_cancel(JNIEnv *jenv_, sftpkit_request *r, int64_t key)
{
    pthread_mutex_lock(&sfk_java_cancel_init);
    if (!sfk_java_cancel_mid) {
        /* first use, on a Java thread: FindClass sees the binding's class loader here */
        jclass cls = (*jenv_)->FindClass(jenv_, "org/sftpkit/PendingRequest");
        jmethodID mid = cls ? (*jenv_)->GetStaticMethodID(jenv_, cls, "nativeCancelled", "(JI)V") : NULL;
        if (mid && (*jenv_)->GetJavaVM(jenv_, &sfk_java_cancel_vm) == 0 &&
            (sfk_java_cancel_cls = (jclass)(*jenv_)->NewGlobalRef(jenv_, cls)) != NULL)
            sfk_java_cancel_mid = mid;
        if (cls)
            (*jenv_)->DeleteLocalRef(jenv_, cls);
    }
    int ready = sfk_java_cancel_mid != NULL;
    pthread_mutex_unlock(&sfk_java_cancel_init);
    if (!ready)
        return SFTPKIT_ERROR_INVALID_STATE; /* a Java error is pending */
    return sftpkit_request_set_cancel_handler(r, sfk_java_cancel_trampoline, (void *)(intptr_t)key);
}
%}
