/* File events: order, by-ref effects (Action, OperationStatus, Handle, AbsolutePath), the custom
 * events with get/set_client_buffer and client_file_entry_*, on_after_* status changes, the
 * OperationStatus <-> SFTP table, and FileOpen/Read/Write/Close notifications. A real server
 * object carries the handler; no transport is involved. */
#include "test_sftp_helpers.h"

#include "sftpkit/sftpkit_consts.h"

#define FRA_AUTO SFTPKIT_FILE_REQUEST_ACTION_FRAAUTO
#define FRA_CUSTOM SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM
#define FRA_ABORT SFTPKIT_FILE_REQUEST_ACTION_FRAABORT
#define OST_OK SFTPKIT_OPERATION_STATUS_OSTOK
#define OST_EOF SFTPKIT_OPERATION_STATUS_OSTEOF

#define CONN 42

/* What the handler does, per event name; everything it sees is logged. */
typedef struct {
    char log[16384];
    struct {
        const char *event;
        const char *param;
        int64_t i;
        const char *s;
    } sets[16];
    int nsets;
    /* custom file system behaviour */
    const char *read_data; /* on_read_file: served from here */
    char written[256];     /* on_write_file: get_client_buffer appends here */
    size_t written_len;
    int find_left;        /* on_find_next: entries still to give */
    int find_never_ends;  /* on_find_next: ostOk and no entry, forever */
    char seen_entry[512]; /* on_set_attributes: what get_client_file_entry showed */
    int method_errors;
} script;

static script sc;

static void set(const char *event, const char *param, int64_t i, const char *s)
{
    sc.sets[sc.nsets].event = event;
    sc.sets[sc.nsets].param = param;
    sc.sets[sc.nsets].i = i;
    sc.sets[sc.nsets].s = s;
    sc.nsets++;
}

static void logf_(const char *fmt, ...)
{
    size_t n = strlen(sc.log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc.log + n, sizeof sc.log - n, fmt, ap);
    va_end(ap);
}

/* Logs "name(p=v,...)" with every parameter as the handler saw it. */
static void log_event(int id, sftpkit_event *ev)
{
    const char *name = sftpkit_event_name(id);
    logf_("%s(", name);
    int n = sftpkit_event_param_count(id);
    for (int i = 0; i < n; i++) {
        const char *pname;
        int type, byref;
        sftpkit_event_param_info(id, i, &pname, &type, &byref);
        if (!strcmp(pname, "connection_id") || !strncmp(pname, "resolved_", 9))
            continue; /* resolved paths: test_resolved_paths */
        if (type == 2) {
            char *v = NULL;
            sftpkit_event_get_str(ev, pname, &v);
            logf_("%s=%s,", pname, v ? v : "");
            sftpkit_free(v);
        } else {
            int64_t v = 0;
            sftpkit_event_get_int(ev, pname, &v);
            logf_("%s=%lld,", pname, (long long)v);
        }
    }
    logf_(");");
}

static void give_entry(sftpkit_server *s, const char *name, int64_t size, int dir)
{
    sftpkit_server_set_client_file_entry_name(s, name);
    sftpkit_server_set_client_file_entry_path(s, "");
    sftpkit_server_set_client_file_entry_long_name(s, "");
    sftpkit_server_set_client_file_entry_size(s, size);
    sftpkit_server_set_client_file_entry_directory(s, dir);
    sftpkit_server_set_client_file_entry_file_type(s, dir ? SFTPKIT_FILE_TYPE_CFTDIRECTORY : SFTPKIT_FILE_TYPE_CFTFILE);
    sftpkit_server_set_client_file_entry_user_read(s, 1);
    sftpkit_server_set_client_file_entry_user_write(s, 1);
    sftpkit_server_set_client_file_entry_user_execute(s, dir);
    sftpkit_server_set_client_file_entry_group_read(s, 1);
    sftpkit_server_set_client_file_entry_other_read(s, 0);
    sftpkit_server_set_client_file_entry_m_time(s, "2021-03-04T05:06:07Z");
    sftpkit_server_set_client_file_entry_a_time(s, "2021-03-04 05:06:08");
    sftpkit_server_set_client_file_entry_owner(s, "virtual");
}

static char last_resolved[2][512]; /* the latest on_before_* resolved path(s) */

static int handler(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)user;
    log_event(id, ev);
    const char *rnames[2][2] = {{"resolved_path", NULL}, {"resolved_old_path", "resolved_new_path"}};
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 2 && rnames[k][j]; j++) {
            char *rp = NULL;
            if (sftpkit_event_get_str(ev, rnames[k][j], &rp) == 0) {
                snprintf(last_resolved[j], sizeof last_resolved[j], "%s", rp);
                sftpkit_free(rp);
            }
        }
    }
    const char *name = sftpkit_event_name(id);
    for (int i = 0; i < sc.nsets; i++) {
        if (strcmp(sc.sets[i].event, name))
            continue;
        if (sc.sets[i].s)
            sftpkit_event_set_str(ev, sc.sets[i].param, sc.sets[i].s);
        else
            sftpkit_event_set_int(ev, sc.sets[i].param, sc.sets[i].i);
    }
    char *handle = NULL;
    if (id == SFTPKIT_EVENT_ON_READ_FILE) {
        int64_t off, size;
        sftpkit_event_get_str(ev, "handle", &handle);
        sftpkit_event_get_int(ev, "offset", &off);
        sftpkit_event_get_int(ev, "size", &size);
        size_t len = strlen(sc.read_data);
        if ((size_t)off >= len) {
            sftpkit_event_set_int(ev, "operation_status", OST_EOF);
        } else {
            size_t n = len - (size_t)off < (size_t)size ? len - (size_t)off : (size_t)size;
            if (sftpkit_server_set_client_buffer(s, CONN, handle, (const uint8_t *)sc.read_data + off, n))
                sc.method_errors++;
        }
    } else if (id == SFTPKIT_EVENT_ON_WRITE_FILE) {
        sftpkit_event_get_str(ev, "handle", &handle);
        uint8_t *data = NULL;
        size_t len = 0;
        if (sftpkit_server_get_client_buffer(s, CONN, handle, &data, &len))
            sc.method_errors++;
        memcpy(sc.written + sc.written_len, data, len);
        sc.written_len += len;
        sftpkit_free(data);
    } else if (id == SFTPKIT_EVENT_ON_FIND_FIRST) {
        give_entry(s, "first.txt", 11, 0);
        if (sftpkit_server_set_client_file_entry(s, CONN, ""))
            sc.method_errors++;
    } else if (id == SFTPKIT_EVENT_ON_FIND_NEXT) {
        if (sc.find_never_ends) {
            /* ostOk without an entry: the engine must not loop forever */
        } else if (sc.find_left-- > 0) {
            char nm[32];
            snprintf(nm, sizeof nm, "entry%d", sc.find_left);
            give_entry(s, nm, sc.find_left, sc.find_left == 0);
            sftpkit_event_get_str(ev, "handle", &handle);
            if (sftpkit_server_set_client_file_entry(s, CONN, handle))
                sc.method_errors++;
        } else {
            sftpkit_event_set_int(ev, "operation_status", OST_EOF);
        }
    } else if (id == SFTPKIT_EVENT_ON_REQUEST_ATTRIBUTES) {
        give_entry(s, "ignored", 1234, 1);
        if (sftpkit_server_set_client_file_entry(s, CONN, ""))
            sc.method_errors++;
    } else if (id == SFTPKIT_EVENT_ON_SET_ATTRIBUTES) {
        sftpkit_event_get_str(ev, "handle", &handle);
        if (sftpkit_server_get_client_file_entry(s, CONN, handle))
            sc.method_errors++;
        int64_t size;
        char *mt = NULL, *path = NULL;
        int ur, uw, ox;
        sftpkit_server_get_client_file_entry_size(s, &size);
        sftpkit_server_get_client_file_entry_m_time(s, &mt);
        sftpkit_server_get_client_file_entry_path(s, &path);
        sftpkit_server_get_client_file_entry_user_read(s, &ur);
        sftpkit_server_get_client_file_entry_user_write(s, &uw);
        sftpkit_server_get_client_file_entry_other_execute(s, &ox);
        snprintf(sc.seen_entry, sizeof sc.seen_entry, "path=%s size=%lld mtime=%s perms=%d%d%d", path, (long long)size,
                 mt, ur, uw, ox);
        sftpkit_free(mt);
        sftpkit_free(path);
    }
    sftpkit_free(handle);
    return 0;
}

static sftpkit_server *srv;

static tc *ready(const char *root)
{
    memset(&sc, 0, sizeof sc);
    srv = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_event_handler(srv, handler, NULL, NULL), 0);
    tc *t = tc_new_with(srv, root, CONN);
    assert_int_equal(tc_init(t, 3), 3);
    sc.log[0] = '\0';
    return t;
}

static void done(tc *t)
{
    tc_free(t);
    sftpkit_server_free(srv);
    srv = NULL;
}

static void expect_log(const char *want)
{
    if (strcmp(sc.log, want))
        fail_msg("event log\n got: %s\nwant: %s", sc.log, want);
    sc.log[0] = '\0';
}

static uint32_t mkdir_req(tc *t, const char *path)
{
    uint32_t id = tc_begin(t, SSH_FXP_MKDIR);
    tc_cstr(t, path);
    tc_u32(t, 0);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

static void test_auto_custom_abort_for_create_directory(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    assert_int_equal(mkdir_req(t, "a/../d1"), 0);
    expect_log(
        "on_before_create_directory(path=/d1,action=1,);on_after_create_directory(path=/d1,operation_status=1,);");
    assert_true(tc_host_exists(t->root, "d1"));

    set("on_before_create_directory", "action", FRA_CUSTOM, NULL);
    assert_int_equal(mkdir_req(t, "d2"), 0);
    expect_log("on_before_create_directory(path=/d2,action=1,);on_create_directory(path=/d2,operation_status=1,);"
               "on_after_create_directory(path=/d2,operation_status=1,);");
    assert_false(tc_host_exists(t->root, "d2")); /* the application did it (or not) */

    sc.nsets = 0;
    set("on_before_create_directory", "action", FRA_ABORT, NULL);
    assert_int_equal(mkdir_req(t, "d3"), SSH_FX_PERMISSION_DENIED);
    expect_log(
        "on_before_create_directory(path=/d3,action=1,);on_after_create_directory(path=/d3,operation_status=3,);");
    assert_false(tc_host_exists(t->root, "d3"));

    /* an existing directory: the after event sees the failure (no ost value: 0) and may turn it */
    sc.nsets = 0;
    assert_int_equal(mkdir_req(t, "d1"), SSH_FX_FAILURE);
    expect_log(
        "on_before_create_directory(path=/d1,action=1,);on_after_create_directory(path=/d1,operation_status=0,);");
    set("on_after_create_directory", "operation_status", OST_OK, NULL);
    assert_int_equal(mkdir_req(t, "d1"), SSH_FX_OK);
    sc.log[0] = '\0';
    done(t);
}

/* OperationStatus from a custom event -> the SFTP status a v3 client sees. */
static void test_operation_status_table(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    tc_put_file(t->root, "f", "x");
    set("on_before_remove", "action", FRA_CUSTOM, NULL);
    const struct {
        int64_t ost;
        uint32_t status;
    } table[] = {
        {1, SSH_FX_OK},
        {2, SSH_FX_NO_SUCH_FILE},
        {3, SSH_FX_PERMISSION_DENIED},
        {4, SSH_FX_PERMISSION_DENIED}, /* ostWriteProtect: WRITE_PROTECT from v4 on */
        {5, SSH_FX_OP_UNSUPPORTED},
        {6, SSH_FX_FAILURE}, /* ostInvalidParameter: INVALID_PARAMETER in v6 */
        {7, SSH_FX_EOF},
        {0, SSH_FX_FAILURE},
        {99, SSH_FX_FAILURE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        sc.nsets = 1;
        set("on_remove", "operation_status", table[i].ost, NULL);
        assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "f"), table[i].status);
    }
    assert_true(tc_host_exists(t->root, "f")); /* custom: the server never touched it */
    /* and the after event may overrule */
    sc.nsets = 0;
    set("on_after_remove", "operation_status", SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED, NULL);
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "f"), SSH_FX_PERMISSION_DENIED);
    assert_false(tc_host_exists(t->root, "f")); /* it was removed; the client is told otherwise */
    done(t);
}

static void test_rename_and_remove_events(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    tc_put_file(t->root, "a", "x");
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "a", "sub/../b"), 0);
    expect_log("on_before_rename_file(old_path=/a,new_path=/b,action=1,);"
               "on_after_rename_file(old_path=/a,new_path=/b,operation_status=1,);");
    set("on_before_rename_file", "action", FRA_CUSTOM, NULL);
    set("on_rename_file", "operation_status", SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE, NULL);
    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "posix-rename@openssh.com", "b", "c"), SSH_FX_NO_SUCH_FILE);
    expect_log("on_before_rename_file(old_path=/b,new_path=/c,action=1,);" /* posix-rename: overwrite, atomic */
               "on_rename_file(old_path=/b,new_path=/c,operation_status=1,rename_flags=3,);"
               "on_after_rename_file(old_path=/b,new_path=/c,operation_status=2,);");
    sc.nsets = 0;
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "b"), 0);
    expect_log("on_before_remove(path=/b,action=1,);on_after_remove(path=/b,operation_status=1,);");
    assert_int_equal(mkdir_req(t, "d"), 0);
    sc.log[0] = '\0';
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "d"), 0);
    expect_log("on_before_remove(path=/d,action=1,);on_after_remove(path=/d,operation_status=1,);");
    done(t);
}

/* A symlink or hard link fires on_before_create_link / on_after_create_link with both paths; an
 * abort policy refuses it and nothing is created (before these events a link to a protected
 * file was made silently and then served through the link's path). */
static void test_link_events(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    assert_int_equal(mkdir_req(t, "secret"), 0);
    tc_put_file(t->root, "secret/x", "classified");
    sc.log[0] = '\0';
    /* SYMLINK (OpenSSH order: target, link path) */
    assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, "/secret/x", "pub"), 0);
    expect_log("on_before_create_link(link_path=/pub,target_path=/secret/x,hard_link=0,action=1,);"
               "on_after_create_link(link_path=/pub,target_path=/secret/x,hard_link=0,operation_status=1,);");
    assert_true(tc_host_exists(t->root, "pub"));
    set("on_before_create_link", "action", FRA_ABORT, NULL);
    assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, "/secret/x", "pub2"), SSH_FX_PERMISSION_DENIED);
    assert_false(tc_host_exists(t->root, "pub2"));
    /* hardlink@openssh.com (old path = target, new path = link) */
    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "hardlink@openssh.com", "secret/x", "hard"),
                     SSH_FX_PERMISSION_DENIED);
    assert_false(tc_host_exists(t->root, "hard"));
    sc.log[0] = '\0';
    sc.nsets = 0;
    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "hardlink@openssh.com", "secret/x", "hard"), 0);
    expect_log("on_before_create_link(link_path=/hard,target_path=/secret/x,hard_link=1,action=1,);"
               "on_after_create_link(link_path=/hard,target_path=/secret/x,hard_link=1,operation_status=1,);");
    assert_true(tc_host_exists(t->root, "hard"));
    /* on_after_create_link may change the outcome the client sees */
    set("on_after_create_link", "operation_status", SFTPKIT_OPERATION_STATUS_OSTACCESSDENIED, NULL);
    assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, "/secret/x", "pub3"), SSH_FX_PERMISSION_DENIED);
    done(t);
}

/* on_before_* carry the path resolved inside the root: a client path through a link inside the
 * root shows where it really leads, so a policy on "/secret" sees "/secret/x" behind "/pub/x". */
static void test_resolved_paths(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    assert_int_equal(mkdir_req(t, "secret"), 0);
    tc_put_file(t->root, "secret/x", "classified");
    char link[1024];
    snprintf(link, sizeof link, "%s/pub", t->root);
    assert_int_equal(symlink("secret", link), 0); /* made outside SFTP: no link event */
    tc_attrs a;
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/pub/x", &a), 0);
    assert_string_equal(last_resolved[0], "/secret/x");
    /* an abort policy on the resolved path refuses the download through the link */
    set("on_before_download_file", "action", FRA_ABORT, NULL);
    tc_handle h;
    assert_int_equal(tc_open(t, "/pub/x", SSH_FXF_READ, &h), SSH_FX_PERMISSION_DENIED);
    assert_string_equal(last_resolved[0], "/secret/x");
    /* not there yet: the parent resolved plus the name; no link: the path itself */
    assert_int_equal(tc_open(t, "/pub/new", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    assert_string_equal(last_resolved[0], "/secret/new");
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/secret", &a), 0);
    assert_string_equal(last_resolved[0], "/secret");
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "/pub/new", "/pub/new2"), 0);
    assert_string_equal(last_resolved[0], "/secret/new");
    assert_string_equal(last_resolved[1], "/secret/new2");
    done(t);
}

static void test_request_attributes_custom_and_abort(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    tc_put_file(t->root, "f", "12345");
    tc_attrs a;
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "f", &a), 0);
    assert_int_equal(a.size, 5);
    expect_log(
        "on_before_request_attributes(path=/f,action=1,);on_after_request_attributes(path=/f,operation_status=1,);");
    set("on_before_request_attributes", "action", FRA_CUSTOM, NULL);
    assert_int_equal(tc_stat(t, SSH_FXP_LSTAT, "virtual/thing", &a), 0);
    expect_log("on_before_request_attributes(path=/virtual/thing,action=1,);"
               "on_request_attributes(path=/virtual/thing,handle=,operation_status=1,);"
               "on_after_request_attributes(path=/virtual/thing,operation_status=1,);");
    assert_int_equal(a.size, 1234);
    assert_true(S_ISDIR(a.perm));
    assert_int_equal(a.perm & 0777, 0740);
    assert_int_equal(a.mtime, 1614834367); /* 2021-03-04T05:06:07Z */
    assert_int_equal(a.atime, 1614834368);
    /* FSTAT of a local handle, custom: the handle is passed */
    sc.nsets = 0;
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &h), 0);
    sc.log[0] = '\0';
    set("on_before_request_attributes", "action", FRA_CUSTOM, NULL);
    uint32_t id = tc_handle_req(t, SSH_FXP_FSTAT, &h);
    assert_int_equal(tc_next(t), SSH_FXP_ATTRS);
    assert_int_equal(t->id, id);
    char want[512];
    snprintf(
        want, sizeof want,
        "on_before_request_attributes(path=/f,action=1,);on_request_attributes(path=/f,handle=%s,operation_status=1,);"
        "on_after_request_attributes(path=/f,operation_status=1,);",
        h.s);
    expect_log(want);
    sc.nsets = 0;
    set("on_before_request_attributes", "action", FRA_ABORT, NULL);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "f", &a), SSH_FX_PERMISSION_DENIED);
    expect_log(
        "on_before_request_attributes(path=/f,action=1,);on_after_request_attributes(path=/f,operation_status=3,);");
    sc.nsets = 0;
    assert_int_equal(tc_close(t, &h), 0);
    done(t);
}

static void test_set_attributes_custom_sees_the_requested_change(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    tc_put_file(t->root, "f", "12345");
    set("on_before_set_attributes", "action", FRA_CUSTOM, NULL);
    uint32_t id = tc_begin(t, SSH_FXP_SETSTAT);
    tc_cstr(t, "f");
    tc_u32(t, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME);
    tc_u64(t, 77);
    tc_u32(t, 0601);
    tc_u32(t, 1000);
    tc_u32(t, 1614834367);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_OK);
    assert_string_equal(sc.seen_entry, "path=/f size=77 mtime=2021-03-04T05:06:07Z perms=111");
    expect_log("on_before_set_attributes(path=/f,action=1,);on_set_attributes(path=/f,handle=,operation_status=1,);"
               "on_after_set_attributes(path=/f,operation_status=1,);");
    char buf[16];
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 5); /* not done by the server */
    assert_int_equal(sc.method_errors, 0);
    done(t);
}

/* The handle on_open_file proposed before the handler renamed it: generated handles carry a
 * process-wide serial (unique server-wide), so the log keeps only their shape. */
static void mask_proposed_handle(const char *event_prefix)
{
    char *at = strstr(sc.log, event_prefix);
    char *h = at ? strstr(at, "handle=") : NULL;
    if (!h || strlen(h + 7) < 16 || strspn(h + 7, "abcdefghijklmnopqrstuvwxyz234567") != 16)
        return;
    memmove(h + 7 + 3, h + 7 + 16, strlen(h + 7 + 16) + 1);
    memcpy(h + 7, "<g>", 3);
}

static void test_custom_file_transfer(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    set("on_before_upload_file", "action", FRA_CUSTOM, NULL);
    set("on_before_download_file", "action", FRA_CUSTOM, NULL);
    set("on_open_file", "handle", 0, "my-handle");
    tc_handle h;
    assert_int_equal(tc_open(t, "up.bin", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, &h), 0);
    assert_string_equal(h.s, "my-handle");
    assert_int_equal(tc_write(t, &h, 0, "hello ", 6), 0);
    assert_int_equal(tc_write(t, &h, 6, "world", 5), 0);
    assert_int_equal(sc.written_len, 11);
    assert_memory_equal(sc.written, "hello world", 11);
    assert_int_equal(tc_close(t, &h), 0);
    mask_proposed_handle("on_open_file(path=/up.bin");
    expect_log("on_before_upload_file(path=/up.bin,action=1,);"
               "on_open_file(path=/up.bin,modes=26,access=0,operation_status=1,handle=<g>,);"
               "on_write_file(handle=my-handle,offset=0,operation_status=1,);"
               "on_write_file(handle=my-handle,offset=6,operation_status=1,);"
               "on_close_file(handle=my-handle,operation_status=1,);");
    assert_false(tc_host_exists(t->root, "up.bin"));

    /* a second open wanting the same handle: refused */
    assert_int_equal(tc_open(t, "a", SSH_FXF_READ, &h), 0);
    tc_handle h2;
    assert_int_equal(tc_open(t, "b", SSH_FXF_READ, &h2), SSH_FX_FAILURE);
    assert_int_equal(tc_close(t, &h), 0);

    sc.nsets = 2;
    sc.read_data = "0123456789";
    sc.log[0] = '\0';
    assert_int_equal(tc_open(t, "down.bin", SSH_FXF_READ, &h), 0);
    char buf[64];
    size_t got;
    assert_int_equal(tc_read(t, &h, 2, 5, buf, &got), 0);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "23456", 5);
    assert_int_equal(tc_read(t, &h, 8, 100, buf, &got), 0);
    assert_int_equal(got, 2);
    assert_int_equal(tc_read(t, &h, 10, 100, buf, &got), SSH_FX_EOF);
    /* writes to a download handle are refused before the application sees them */
    assert_int_equal(tc_write(t, &h, 0, "x", 1), SSH_FX_PERMISSION_DENIED);
    assert_int_equal(tc_close(t, &h), 0);
    char want[2048];
    snprintf(want, sizeof want,
             "on_before_download_file(path=/down.bin,action=1,);"
             "on_open_file(path=/down.bin,modes=1,access=0,operation_status=1,handle=%s,);"
             "on_read_file(handle=%s,offset=2,size=5,operation_status=1,);"
             "on_read_file(handle=%s,offset=8,size=100,operation_status=1,);"
             "on_read_file(handle=%s,offset=10,size=100,operation_status=1,);"
             "on_close_file(handle=%s,operation_status=1,);",
             h.s, h.s, h.s, h.s, h.s);
    expect_log(want);
    /* the open fails: no handle, no close */
    set("on_open_file", "operation_status", SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE, NULL);
    assert_int_equal(tc_open(t, "nothing", SSH_FXF_READ, &h), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(sc.method_errors, 0);
    done(t);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_custom_listing(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    set("on_before_find", "action", FRA_CUSTOM, NULL);
    set("on_find_first", "handle", 0, "listing-1");
    sc.find_left = 3;
    tc_handle h;
    assert_int_equal(tc_opendir(t, "/virtual", &h), 0);
    assert_string_equal(h.s, "listing-1");
    uint32_t id = tc_handle_req(t, SSH_FXP_READDIR, &h);
    assert_int_equal(tc_next(t), SSH_FXP_NAME);
    assert_int_equal(t->id, id);
    assert_int_equal(sfk_rd_u32(&t->rd), 4);
    const char *names[] = {"first.txt", "entry2", "entry1", "entry0"};
    for (int i = 0; i < 4; i++) {
        char name[64], longname[256];
        tc_rd_cstr(t, name, sizeof name);
        tc_rd_cstr(t, longname, sizeof longname);
        tc_attrs a;
        tc_rd_attrs(t, &a);
        assert_string_equal(name, names[i]);
        assert_non_null(strstr(longname, name));
        assert_non_null(strstr(longname, "virtual"));
        if (i == 3) {
            assert_true(S_ISDIR(a.perm));
            assert_memory_equal(longname, "drwxr-----", 10);
        } else {
            assert_true(S_ISREG(a.perm));
            assert_memory_equal(longname, "-rw-r-----", 10);
        }
    }
    id = tc_handle_req(t, SSH_FXP_READDIR, &h);
    tc_expect_status(t, id, SSH_FX_EOF);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(count(sc.log, "on_find_first(path=/virtual,operation_status=1,handle="), 1);
    assert_int_equal(count(sc.log, "on_find_next(handle=listing-1,"), 4);
    assert_int_equal(count(sc.log, "on_find_close(handle=listing-1,operation_status=1,);"), 1);
    assert_int_equal(sc.method_errors, 0);

    /* a handler that never says ostEOF: the listing still ends */
    sc.find_never_ends = 1;
    sc.log[0] = '\0';
    assert_int_equal(tc_opendir(t, "/virtual", &h), 0);
    id = tc_handle_req(t, SSH_FXP_READDIR, &h);
    assert_int_equal(tc_next(t), SSH_FXP_NAME); /* the first entry */
    id = tc_handle_req(t, SSH_FXP_READDIR, &h);
    tc_expect_status(t, id, SSH_FX_EOF);
    assert_int_equal(tc_close(t, &h), 0);
    /* find_first failing: no handle */
    set("on_find_first", "operation_status", SFTPKIT_OPERATION_STATUS_OSTNOSUCHFILE, NULL);
    assert_int_equal(tc_opendir(t, "/nothing", &h), SSH_FX_NO_SUCH_FILE);
    done(t);
}

static void test_translate_path(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    char out[256], adir[300];
    snprintf(adir, sizeof adir, "%s/a", t->root);
    assert_int_equal(mkdir(adir, 0755), 0); /* REALPATH resolves on disk: "a" must exist */
    tc_send_path(t, SSH_FXP_REALPATH, "a/../b");
    assert_int_equal(tc_name1(t, out, sizeof out), 0);
    assert_string_equal(out, "/b");
    expect_log("on_translate_path(path=a/../b,absolute_path=/b,action=1,);");
    set("on_translate_path", "action", FRA_CUSTOM, NULL);
    set("on_translate_path", "absolute_path", 0, "/home/custom");
    tc_send_path(t, SSH_FXP_REALPATH, ".");
    assert_int_equal(tc_name1(t, out, sizeof out), 0);
    assert_string_equal(out, "/home/custom");
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "expand-path@openssh.com");
    tc_cstr(t, "~/x");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_name1(t, out, sizeof out), 0);
    assert_int_equal(t->id, id);
    assert_string_equal(out, "/home/custom");
    sc.nsets = 0;
    set("on_translate_path", "action", FRA_ABORT, NULL);
    tc_send_path(t, SSH_FXP_REALPATH, ".");
    assert_int_equal(tc_name1(t, out, sizeof out), SSH_FX_PERMISSION_DENIED);
    done(t);
}

static int notifications_only(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    if (id == SFTPKIT_EVENT_ON_NOTIFICATION)
        return handler(user, s, id, ev);
    return 0;
}

static void test_file_operation_notifications(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    assert_int_equal(sftpkit_server_set_event_handler(srv, notifications_only, NULL, NULL), 0);
    char *out = NULL;
    tc_handle h;
    /* off by default */
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    assert_int_equal(tc_close(t, &h), 0);
    assert_string_equal(sc.log, "");
    assert_int_equal(sftpkit_server_config(srv, "NotifyOnFileOperations=True", &out), 0);
    sftpkit_free(out);
    assert_int_equal(tc_open(t, "/dir/../f", SSH_FXF_WRITE | SSH_FXF_READ | SSH_FXF_TRUNC, &h), 0);
    assert_int_equal(tc_write(t, &h, 0, "0123456789", 10), 0);
    char buf[64];
    size_t got;
    assert_int_equal(tc_read(t, &h, 4, 100, buf, &got), 0);
    assert_int_equal(tc_close(t, &h), 0);
    char want[2048];
    snprintf(want, sizeof want,
             "on_notification(event_id=FileOpen,event_param=ConnectionID=42;Path=/f;Handle=%s;Modes=19;Access=0;"
             "DesiredAccess=3,);"
             "on_notification(event_id=FileWrite,event_param=ConnectionID=42;Handle=%s;Offset=0;Count=10,);"
             "on_notification(event_id=FileRead,event_param=ConnectionID=42;Handle=%s;Offset=4;Count=100;Read=6,);"
             "on_notification(event_id=FileClose,event_param=ConnectionID=42;Handle=%s;Modes=19,);",
             h.s, h.s, h.s, h.s);
    expect_log(want);
    done(t);
}

static void test_client_file_entry_of_an_open_handle(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    tc_put_file(t->root, "sized", "123456789");
    tc_handle h;
    assert_int_equal(tc_open(t, "sized", SSH_FXF_READ, &h), 0);
    /* from outside any handler (this thread is not the engine's): found through the registry */
    assert_int_equal(sftpkit_server_get_client_file_entry(srv, CONN, h.s), 0);
    int64_t size, type;
    char *name = NULL, *path = NULL, *mt = NULL, *longname = NULL;
    int dir, ur;
    sftpkit_server_get_client_file_entry_size(srv, &size);
    sftpkit_server_get_client_file_entry_name(srv, &name);
    sftpkit_server_get_client_file_entry_path(srv, &path);
    sftpkit_server_get_client_file_entry_m_time(srv, &mt);
    sftpkit_server_get_client_file_entry_long_name(srv, &longname);
    sftpkit_server_get_client_file_entry_directory(srv, &dir);
    sftpkit_server_get_client_file_entry_file_type(srv, &type);
    sftpkit_server_get_client_file_entry_user_read(srv, &ur);
    assert_int_equal(size, 9);
    assert_string_equal(name, "sized");
    assert_string_equal(path, "/sized");
    assert_int_equal(strlen(mt), 20);
    assert_int_equal(mt[10], 'T');
    assert_non_null(strstr(longname, "sized"));
    assert_false(dir);
    assert_int_equal(type, SFTPKIT_FILE_TYPE_CFTFILE);
    assert_true(ur);
    sftpkit_free(name);
    sftpkit_free(path);
    sftpkit_free(mt);
    sftpkit_free(longname);
    /* wrong handle, wrong connection, calls out of place */
    assert_int_equal(sftpkit_server_get_client_file_entry(srv, CONN, "nope"), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(sftpkit_server_get_client_file_entry(srv, CONN + 1, h.s), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_non_null(strstr(sftpkit_last_error_message(), "43"));
    uint8_t *data;
    size_t len;
    assert_int_not_equal(sftpkit_server_get_client_buffer(srv, CONN, h.s, &data, &len), 0);
    assert_int_not_equal(sftpkit_server_set_client_buffer(srv, CONN, h.s, (const uint8_t *)"x", 1), 0);
    assert_int_not_equal(sftpkit_server_set_client_file_entry(srv, CONN, h.s), 0);
    assert_int_equal(sftpkit_server_get_client_buffer(NULL, CONN, h.s, &data, &len), SFTPKIT_ERROR_INVALID_PARAMETER);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(sftpkit_server_get_client_file_entry(srv, CONN, h.s), SFTPKIT_ERROR_INVALID_PARAMETER);
    done(t);
}

static void test_read_only_still_reports_after_events(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    tc_free(t);
    assert_int_equal(sftpkit_server_set_read_only(srv, 1), 0);
    t = tc_new_with(srv, NULL, CONN);
    assert_int_equal(tc_init(t, 3), 3);
    sc.log[0] = '\0';
    assert_int_equal(mkdir_req(t, "d"), SSH_FX_PERMISSION_DENIED);
    expect_log("on_after_create_directory(path=/d,operation_status=4,);");
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), SSH_FX_PERMISSION_DENIED);
    expect_log("");
    done(t);
}

/* Handles the application still holds when the session ends get their close events. */
static void test_teardown_closes_custom_handles(void **state)
{
    (void)state;
    tc *t = ready(NULL);
    set("on_before_download_file", "action", FRA_CUSTOM, NULL);
    set("on_before_find", "action", FRA_CUSTOM, NULL);
    tc_handle h;
    assert_int_equal(tc_open(t, "x", SSH_FXF_READ, &h), 0);
    sc.find_left = 0;
    assert_int_equal(tc_opendir(t, "/", &h), 0);
    sc.log[0] = '\0';
    sfk_engine_free(t->e);
    t->e = NULL;
    assert_int_equal(count(sc.log, "on_close_file("), 1);
    assert_int_equal(count(sc.log, "on_find_close("), 1);
    done(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_custom_abort_for_create_directory),
        cmocka_unit_test(test_operation_status_table),
        cmocka_unit_test(test_rename_and_remove_events),
        cmocka_unit_test(test_link_events),
        cmocka_unit_test(test_resolved_paths),
        cmocka_unit_test(test_request_attributes_custom_and_abort),
        cmocka_unit_test(test_set_attributes_custom_sees_the_requested_change),
        cmocka_unit_test(test_custom_file_transfer),
        cmocka_unit_test(test_custom_listing),
        cmocka_unit_test(test_translate_path),
        cmocka_unit_test(test_file_operation_notifications),
        cmocka_unit_test(test_client_file_entry_of_an_open_handle),
        cmocka_unit_test(test_read_only_still_reports_after_events),
        cmocka_unit_test(test_teardown_closes_custom_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
