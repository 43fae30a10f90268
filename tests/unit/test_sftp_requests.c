/* Every v3 request and every extension against the local file system, with their status paths. */
#include "test_sftp_helpers.h"

#include <pwd.h>
#include <sys/statvfs.h>

static tc *ready(void)
{
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    return t;
}

static void host_path(const tc *t, const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", t->root, rel);
}

/* Two sessions opening their first file get different handle strings (an application keying
 * open files by handle alone must not mix sessions up). Before the process-wide serial both
 * were "aaaaaaab". */
static void test_handles_are_unique_across_sessions(void **state)
{
    (void)state;
    tc *a = ready(), *b = ready();
    tc_handle ha, hb;
    assert_int_equal(tc_open(a, "/a.txt", SSH_FXF_WRITE | SSH_FXF_CREAT, &ha), 0);
    assert_int_equal(tc_open(b, "/b.txt", SSH_FXF_WRITE | SSH_FXF_CREAT, &hb), 0);
    assert_int_equal(ha.len, hb.len);
    assert_memory_not_equal(ha.s, hb.s, ha.len);
    assert_int_equal(tc_close(a, &ha), 0);
    assert_int_equal(tc_open(a, "/a.txt", SSH_FXF_READ, &hb), 0); /* the reused slot: a new name */
    assert_memory_not_equal(ha.s, hb.s, ha.len);
    tc_free(a);
    tc_free(b);
}

static void test_open_write_read_close(void **state)
{
    (void)state;
    tc *t = ready();
    tc_handle h;
    assert_int_equal(tc_open(t, "/f.txt", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, &h), 0);
    assert_int_equal(h.len, 16); /* slot and process-wide serial (sftp/handles.c) */
    assert_int_equal(tc_write(t, &h, 0, "hello world", 11), 0);
    assert_int_equal(tc_write(t, &h, 6, "WORLD", 5), 0);
    char buf[64];
    size_t got;
    /* opened for writing only: reads fail, as pread on the descriptor does */
    assert_int_not_equal(tc_read(t, &h, 0, 5, buf, &got), 0);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_host_read(t->root, "f.txt", buf, sizeof buf), 11);
    assert_string_equal(buf, "hello WORLD");

    assert_int_equal(tc_open(t, "f.txt", SSH_FXF_READ, &h), 0);
    assert_int_equal(tc_read(t, &h, 6, 100, buf, &got), 0);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "WORLD", 5);
    assert_int_equal(tc_read(t, &h, 11, 100, buf, &got), SSH_FX_EOF);
    /* a read handle refuses writes */
    assert_int_equal(tc_write(t, &h, 0, "x", 1), SSH_FX_PERMISSION_DENIED);
    assert_int_equal(tc_close(t, &h), 0);
    tc_free(t);
}

static void test_open_flags(void **state)
{
    (void)state;
    tc *t = ready();
    tc_handle h;
    tc_put_file(t->root, "f", "0123456789");
    assert_int_equal(tc_open(t, "missing", SSH_FXF_READ, &h), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_EXCL, &h), SSH_FX_FAILURE);
    /* append: writes land at the end whatever the offset */
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_APPEND, &h), 0);
    assert_int_equal(tc_write(t, &h, 0, "AB", 2), 0);
    assert_int_equal(tc_close(t, &h), 0);
    char buf[64];
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 12);
    assert_string_equal(buf, "0123456789AB");
    /* truncate */
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE | SSH_FXF_TRUNC, &h), 0);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 0);
    /* the permissions given at creation are used */
    uint32_t id = tc_begin(t, SSH_FXP_OPEN);
    tc_cstr(t, "perm");
    tc_u32(t, SSH_FXF_WRITE | SSH_FXF_CREAT);
    tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS);
    tc_u32(t, 0600);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_HANDLE);
    assert_int_equal(t->id, id);
    h.len = tc_rd_cstr(t, h.s, sizeof h.s);
    assert_int_equal(tc_close(t, &h), 0);
    char p[600];
    host_path(t, "perm", p, sizeof p);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* a directory opens but does not read */
    assert_int_equal(mkdir((host_path(t, "d", p, sizeof p), p), 0755), 0);
    assert_int_equal(tc_open(t, "d", SSH_FXF_READ, &h), 0);
    size_t got;
    assert_int_equal(tc_read(t, &h, 0, 10, buf, &got), SSH_FX_FAILURE);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_open(t, "d", SSH_FXF_WRITE, &h), SSH_FX_FAILURE);
    tc_free(t);
}

static void test_many_handles_and_the_limit(void **state)
{
    (void)state;
    tc *t = ready();
    tc_put_file(t->root, "f", "x");
    static tc_handle hs[4096];
    int opened = 0;
    for (; opened < 4096; opened++)
        if (tc_open(t, "f", SSH_FXF_READ, &hs[opened]) != 0)
            break;
    /* the limit may be lower than 4096 when the process is short of descriptors */
    assert_true(opened >= 100);
    tc_handle extra;
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &extra), SSH_FX_FAILURE);
    for (int i = 0; i < opened; i++)
        assert_int_equal(tc_close(t, &hs[i]), 0);
    /* slots are reused, with different handle strings */
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &extra), 0);
    assert_false(extra.len == hs[0].len && !memcmp(extra.s, hs[0].s, extra.len));
    assert_int_equal(tc_close(t, &extra), 0);
    tc_free(t);
}

static void test_stat_lstat_fstat(void **state)
{
    (void)state;
    tc *t = ready();
    tc_put_file(t->root, "f", "12345");
    char p[600];
    host_path(t, "l", p, sizeof p);
    assert_int_equal(symlink("f", p), 0);
    tc_attrs a;
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "f", &a), 0);
    assert_int_equal(a.size, 5);
    assert_true(S_ISREG(a.perm));
    assert_int_equal(a.uid, getuid());
    assert_true(a.mtime > 0);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "l", &a), 0);
    assert_true(S_ISREG(a.perm));
    assert_int_equal(tc_stat(t, SSH_FXP_LSTAT, "l", &a), 0);
    assert_true(S_ISLNK(a.perm));
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/", &a), 0);
    assert_true(S_ISDIR(a.perm));
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "nope", &a), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_stat(t, SSH_FXP_LSTAT, "nope/deeper", &a), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "f/below-a-file", &a), SSH_FX_NO_SUCH_FILE);
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &h), 0);
    uint32_t id = tc_handle_req(t, SSH_FXP_FSTAT, &h);
    assert_int_equal(tc_next(t), SSH_FXP_ATTRS);
    assert_int_equal(t->id, id);
    tc_rd_attrs(t, &a);
    assert_int_equal(a.size, 5);
    assert_int_equal(tc_close(t, &h), 0);
    tc_free(t);
}

static uint32_t send_setstat(tc *t, const char *path, const tc_handle *h, uint32_t flags, uint64_t size, uint32_t perm,
                             uint32_t atime, uint32_t mtime)
{
    uint32_t id = tc_begin(t, h ? SSH_FXP_FSETSTAT : SSH_FXP_SETSTAT);
    if (h)
        tc_str(t, h->s, h->len);
    else
        tc_cstr(t, path);
    tc_u32(t, flags);
    if (flags & SSH_FILEXFER_ATTR_SIZE)
        tc_u64(t, size);
    if (flags & SSH_FILEXFER_ATTR_UIDGID) {
        tc_u32(t, getuid());
        tc_u32(t, getgid());
    }
    if (flags & SSH_FILEXFER_ATTR_PERMISSIONS)
        tc_u32(t, perm);
    if (flags & SSH_FILEXFER_ATTR_ACMODTIME) {
        tc_u32(t, atime);
        tc_u32(t, mtime);
    }
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

static void test_setstat_and_fsetstat(void **state)
{
    (void)state;
    tc *t = ready();
    tc_put_file(t->root, "f", "0123456789");
    uint32_t all =
        SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID | SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME;
    assert_int_equal(send_setstat(t, "f", NULL, all, 4, 0640, 1000000000, 1200000000), 0);
    char p[600];
    host_path(t, "f", p, sizeof p);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, 4);
    assert_int_equal(sb.st_mode & 0777, 0640);
    assert_int_equal(sb.st_atime, 1000000000);
    assert_int_equal(sb.st_mtime, 1200000000);
    assert_int_equal(send_setstat(t, "missing", NULL, SSH_FILEXFER_ATTR_PERMISSIONS, 0, 0600, 0, 0),
                     SSH_FX_NO_SUCH_FILE);
    /* through a handle opened for reading: size changes still work (as OpenSSH's truncate) */
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &h), 0);
    assert_int_equal(send_setstat(t, NULL, &h, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS, 2, 0604, 0, 0),
                     0);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, 2);
    assert_int_equal(sb.st_mode & 0777, 0604);
    /* an empty attribute set is fine */
    assert_int_equal(send_setstat(t, "f", NULL, 0, 0, 0, 0, 0), 0);
    /* lsetstat acts on the link, setstat on its target */
    char l[600];
    host_path(t, "l", l, sizeof l);
    assert_int_equal(symlink("f", l), 0);
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "lsetstat@openssh.com");
    tc_cstr(t, "l");
    tc_u32(t, SSH_FILEXFER_ATTR_ACMODTIME);
    tc_u32(t, 1111111111);
    tc_u32(t, 1111111111);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_OK);
    assert_int_equal(lstat(l, &sb), 0);
    assert_int_equal(sb.st_mtime, 1111111111);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_not_equal(sb.st_mtime, 1111111111);
    assert_int_equal(send_setstat(t, "l", NULL, SSH_FILEXFER_ATTR_ACMODTIME, 0, 0, 5, 1300000000), 0);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mtime, 1300000000);
    tc_free(t);
}

/* Reads a whole directory listing; returns the number of entries and checks the names given. */
static int list_dir(tc *t, const char *path, const char *must_have, int *batches)
{
    tc_handle h;
    assert_int_equal(tc_opendir(t, path, &h), 0);
    int total = 0, found = 0;
    *batches = 0;
    for (;;) {
        uint32_t id = tc_handle_req(t, SSH_FXP_READDIR, &h);
        uint8_t type = tc_next(t);
        assert_int_equal(t->id, id);
        if (type == SSH_FXP_STATUS) {
            assert_int_equal(sfk_rd_u32(&t->rd), SSH_FX_EOF);
            break;
        }
        assert_int_equal(type, SSH_FXP_NAME);
        (*batches)++;
        uint32_t n = sfk_rd_u32(&t->rd);
        assert_true(n > 0 && n <= 1024);
        assert_true(t->reply_len < 256 * 1024);
        for (uint32_t i = 0; i < n; i++) {
            char name[300], longname[600];
            tc_rd_cstr(t, name, sizeof name);
            tc_rd_cstr(t, longname, sizeof longname);
            tc_attrs a;
            tc_rd_attrs(t, &a);
            assert_non_null(strstr(longname, name));
            if (must_have && !strcmp(name, must_have)) {
                found = 1;
                assert_true(longname[0] == '-' || longname[0] == 'd' || longname[0] == 'l');
            }
            total++;
        }
    }
    assert_int_equal(tc_close(t, &h), 0);
    if (must_have)
        assert_true(found);
    return total;
}

static void test_opendir_readdir_and_long_names(void **state)
{
    (void)state;
    tc *t = ready();
    tc_put_file(t->root, "hello.txt", "hi");
    char p[600];
    host_path(t, "sub", p, sizeof p);
    assert_int_equal(mkdir(p, 0750), 0);
    int batches;
    assert_int_equal(list_dir(t, "/", "hello.txt", &batches), 4); /* ".", "..", hello.txt, sub */
    /* the long name looks like `ls -l` */
    tc_handle h;
    assert_int_equal(tc_opendir(t, "/", &h), 0);
    uint32_t id = tc_handle_req(t, SSH_FXP_READDIR, &h);
    assert_int_equal(tc_next(t), SSH_FXP_NAME);
    assert_int_equal(t->id, id);
    uint32_t n = sfk_rd_u32(&t->rd);
    int checked = 0;
    for (uint32_t i = 0; i < n; i++) {
        char name[300], longname[600];
        tc_rd_cstr(t, name, sizeof name);
        tc_rd_cstr(t, longname, sizeof longname);
        tc_attrs a;
        tc_rd_attrs(t, &a);
        if (!strcmp(name, "hello.txt")) {
            assert_memory_equal(longname, "-rw-", 4);
            assert_non_null(strstr(longname, "    1 "));
            assert_non_null(strstr(longname, " 2 "));
            struct passwd *pw = getpwuid(getuid());
            if (pw)
                assert_non_null(strstr(longname, pw->pw_name));
            checked++;
        } else if (!strcmp(name, "sub")) {
            assert_memory_equal(longname, "drwxr-x---", 10);
            checked++;
        }
    }
    assert_int_equal(checked, 2);
    assert_int_equal(tc_close(t, &h), 0);
    /* not a directory, missing */
    assert_int_equal(tc_opendir(t, "hello.txt", &h), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_opendir(t, "missing", &h), SSH_FX_NO_SUCH_FILE);
    tc_free(t);
}

static void test_large_directory_in_batches(void **state)
{
    (void)state;
    tc *t = ready();
    char p[600];
    host_path(t, "big", p, sizeof p);
    assert_int_equal(mkdir(p, 0755), 0);
    for (int i = 0; i < 3000; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "big/file-%05d", i);
        tc_put_file(t->root, rel, "");
    }
    int batches;
    assert_int_equal(list_dir(t, "big", "file-02999", &batches), 3002);
    assert_true(batches >= 3 && batches <= 10);
    tc_free(t);
}

static void test_mkdir_without_attributes_is_malformed(void **state)
{
    (void)state;
    tc *t = ready();
    assert_int_equal(tc_path_status(t, SSH_FXP_MKDIR, "d"), SSH_FX_BAD_MESSAGE);
    assert_false(tc_host_exists(t->root, "d"));
    tc_free(t);
}

static void test_mkdir_rmdir_status_paths(void **state)
{
    (void)state;
    tc *t = ready();
    uint32_t id = tc_begin(t, SSH_FXP_MKDIR);
    tc_cstr(t, "d");
    tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS);
    tc_u32(t, 0700);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_OK);
    char p[600];
    host_path(t, "d", p, sizeof p);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    id = tc_begin(t, SSH_FXP_MKDIR);
    tc_cstr(t, "d");
    tc_u32(t, 0);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_FAILURE); /* exists */
    id = tc_begin(t, SSH_FXP_MKDIR);
    tc_cstr(t, "no/such/parent");
    tc_u32(t, 0);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_NO_SUCH_FILE);
    tc_put_file(t->root, "d/inner", "x");
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "d"), SSH_FX_FAILURE); /* not empty */
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "d/inner"), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "d/inner"), SSH_FX_OK);
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "d"), SSH_FX_OK);
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "d"), SSH_FX_NO_SUCH_FILE);
    /* the root itself cannot go */
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "/"), SSH_FX_FAILURE);
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, ".."), SSH_FX_FAILURE);
    assert_int_equal(stat(t->root, &sb), 0);
    tc_free(t);
}

static void test_realpath(void **state)
{
    (void)state;
    tc *t = ready();
    /* REALPATH resolves on disk like OpenSSH's: every component but the last must exist */
    const char *dirs[] = {"a", "a/b", "a/b/c", "x", "x/y"};
    for (size_t i = 0; i < 5; i++) {
        char p[600];
        host_path(t, dirs[i], p, sizeof p);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    const char *cases[][2] = {
        {".", "/"},
        {"", "/"},
        {"/", "/"},
        {"a/../b", "/b"},
        {"../../x", "/x"},
        {"/a//b/./c/", "/a/b/c"},
        {"a/b/../../..", "/"},
        {"/x/y/..", "/x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_send_path(t, SSH_FXP_REALPATH, cases[i][0]);
        char out[300];
        assert_int_equal(tc_name1(t, out, sizeof out), 0);
        assert_string_equal(out, cases[i][1]);
    }
    /* a NUL inside the path */
    uint32_t id = tc_begin(t, SSH_FXP_REALPATH);
    tc_str(t, "a\0b", 3);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_NO_SUCH_FILE);
    tc_free(t);
}

static void test_remove_and_rename(void **state)
{
    (void)state;
    tc *t = ready();
    tc_put_file(t->root, "a", "A");
    tc_put_file(t->root, "b", "B");
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "missing"), SSH_FX_NO_SUCH_FILE);
    char p[600];
    host_path(t, "d", p, sizeof p);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "d"), SSH_FX_FAILURE); /* a directory */
    /* RENAME never replaces; posix-rename does */
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "a", "b"), SSH_FX_FAILURE);
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "a", "c"), SSH_FX_OK);
    assert_false(tc_host_exists(t->root, "a"));
    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "posix-rename@openssh.com", "c", "b"), SSH_FX_OK);
    char buf[8];
    assert_int_equal(tc_host_read(t->root, "b", buf, sizeof buf), 1);
    assert_string_equal(buf, "A");
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "missing", "x"), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "/", "x"), SSH_FX_FAILURE);
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "b"), SSH_FX_OK);
    assert_false(tc_host_exists(t->root, "b"));
    tc_free(t);
}

static void test_symlink_uses_openssh_order_and_readlink(void **state)
{
    (void)state;
    tc *t = ready();
    tc_put_file(t->root, "target", "T");
    /* OpenSSH: (target, link path) */
    assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, "target", "link"), SSH_FX_OK);
    char p[600], buf[300];
    host_path(t, "link", p, sizeof p);
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    assert_int_equal(n, 6);
    buf[n] = '\0';
    assert_string_equal(buf, "target");
    tc_send_path(t, SSH_FXP_READLINK, "link");
    assert_int_equal(tc_name1(t, buf, sizeof buf), 0);
    assert_string_equal(buf, "target");
    tc_send_path(t, SSH_FXP_READLINK, "target");
    assert_int_equal(tc_name1(t, buf, sizeof buf), SSH_FX_FAILURE); /* not a link: EINVAL */
    tc_send_path(t, SSH_FXP_READLINK, "missing");
    assert_int_equal(tc_name1(t, buf, sizeof buf), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, "x", "link"), SSH_FX_FAILURE); /* exists */
    assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, "", "empty"), SSH_FX_NO_SUCH_FILE);
    /* a link through which reading works */
    tc_handle h;
    assert_int_equal(tc_open(t, "link", SSH_FXF_READ, &h), 0);
    size_t got;
    assert_int_equal(tc_read(t, &h, 0, 10, buf, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(tc_close(t, &h), 0);
    /* an absolute target is taken from the root */
    assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, "/target", "abs"), SSH_FX_OK);
    assert_int_equal(tc_open(t, "abs", SSH_FXF_READ, &h), 0);
    assert_int_equal(tc_close(t, &h), 0);
    /* a host path inside the root reads back as the client's path */
    char hostlink[600], hosttarget[600];
    host_path(t, "hostabs", hostlink, sizeof hostlink);
    char *real = realpath(t->root, NULL);
    snprintf(hosttarget, sizeof hosttarget, "%s/target", real);
    free(real);
    assert_int_equal(symlink(hosttarget, hostlink), 0);
    tc_send_path(t, SSH_FXP_READLINK, "hostabs");
    assert_int_equal(tc_name1(t, buf, sizeof buf), 0);
    assert_string_equal(buf, "/target");
    tc_free(t);
}

static uint32_t ext_begin(tc *t, const char *name)
{
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, name);
    return id;
}

static void test_statvfs_fstatvfs_fsync_hardlink(void **state)
{
    (void)state;
    tc *t = ready();
    tc_put_file(t->root, "f", "data");
    uint32_t id = ext_begin(t, "statvfs@openssh.com");
    tc_cstr(t, "/");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
    assert_int_equal(t->id, id);
    struct statvfs sv;
    assert_int_equal(statvfs(t->root, &sv), 0);
    assert_int_equal(sfk_rd_u64(&t->rd), sv.f_bsize);
    for (int i = 1; i < 10; i++)
        sfk_rd_u64(&t->rd);
    assert_int_equal(sfk_rd_u64(&t->rd), sv.f_namemax);
    assert_false(t->rd.bad);
    assert_int_equal(t->rd.left, 0);
    id = ext_begin(t, "statvfs@openssh.com");
    tc_cstr(t, "missing");
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_NO_SUCH_FILE);

    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ | SSH_FXF_WRITE, &h), 0);
    id = ext_begin(t, "fstatvfs@openssh.com");
    tc_str(t, h.s, h.len);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
    assert_int_equal(t->id, id);
    assert_int_equal(t->rd.left, 88);
    id = ext_begin(t, "fsync@openssh.com");
    tc_str(t, h.s, h.len);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_OK);
    assert_int_equal(tc_close(t, &h), 0);

    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "hardlink@openssh.com", "f", "f2"), SSH_FX_OK);
    char p[600];
    host_path(t, "f", p, sizeof p);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_nlink, 2);
    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "hardlink@openssh.com", "f", "f2"), SSH_FX_FAILURE);
    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "hardlink@openssh.com", "nope", "f3"), SSH_FX_NO_SUCH_FILE);
    tc_free(t);
}

static void test_limits(void **state)
{
    (void)state;
    tc *t = ready();
    uint32_t id = ext_begin(t, "limits@openssh.com");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
    assert_int_equal(t->id, id);
    uint64_t max_packet = sfk_rd_u64(&t->rd), max_read = sfk_rd_u64(&t->rd), max_write = sfk_rd_u64(&t->rd);
    uint64_t handles = sfk_rd_u64(&t->rd);
    assert_false(t->rd.bad);
    assert_true(max_packet >= 256 * 1024);
    assert_true(max_read >= 261120 && max_write >= 261120);
    assert_true(max_read <= max_packet && max_write <= max_packet);
    assert_true(handles >= 64);
    tc_free(t);
}

static void test_expand_path_and_home_directory(void **state)
{
    (void)state;
    tc *t = ready();
    char xdir[600], adir[600];
    host_path(t, "x", xdir, sizeof xdir);
    host_path(t, "a", adir, sizeof adir);
    assert_int_equal(mkdir(xdir, 0755), 0);
    assert_int_equal(mkdir(adir, 0755), 0);
    const char *cases[][2] = {{"~", "/"}, {"~/x/y", "/x/y"}, {"~alice/z", "/z"}, {"a/../b", "/b"}, {"/q", "/q"}};
    char out[300];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ext_begin(t, "expand-path@openssh.com");
        tc_cstr(t, cases[i][0]);
        assert_int_equal(tc_send(t), 0);
        assert_int_equal(tc_name1(t, out, sizeof out), 0);
        assert_string_equal(out, cases[i][1]);
    }
    ext_begin(t, "expand-path@openssh.com");
    tc_cstr(t, "~bob/x");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_name1(t, out, sizeof out), SSH_FX_NO_SUCH_FILE);
    const char *users[] = {"alice", ""};
    for (int i = 0; i < 2; i++) {
        ext_begin(t, "home-directory");
        tc_cstr(t, users[i]);
        assert_int_equal(tc_send(t), 0);
        assert_int_equal(tc_name1(t, out, sizeof out), 0);
        assert_string_equal(out, "/");
    }
    ext_begin(t, "home-directory");
    tc_cstr(t, "bob");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_name1(t, out, sizeof out), SSH_FX_NO_SUCH_FILE);
    tc_free(t);
}

static void test_copy_data(void **state)
{
    (void)state;
    tc *t = ready();
    tc_put_file(t->root, "src", "0123456789");
    tc_handle in, out;
    assert_int_equal(tc_open(t, "src", SSH_FXF_READ, &in), 0);
    assert_int_equal(tc_open(t, "dst", SSH_FXF_WRITE | SSH_FXF_CREAT, &out), 0);
    assert_int_equal(tc_copy_data(t, &in, 2, 3, &out, 0), 0);
    assert_int_equal(tc_copy_data(t, &in, 5, 0, &out, 3), 0); /* 0: to the end */
    char buf[32];
    assert_int_equal(tc_host_read(t->root, "dst", buf, sizeof buf), 8);
    assert_string_equal(buf, "23456789");
    assert_int_equal(tc_copy_data(t, &out, 0, 1, &in, 0), SSH_FX_PERMISSION_DENIED); /* wrong directions */
    tc_handle bogus = {"bogusbog", 8};
    assert_int_equal(tc_copy_data(t, &bogus, 0, 1, &out, 0), SSH_FX_FAILURE);
    assert_int_equal(tc_close(t, &in), 0);
    assert_int_equal(tc_close(t, &out), 0);
    /* one handle, overlapping ranges: refused */
    tc_handle rw;
    assert_int_equal(tc_open(t, "src", SSH_FXF_READ | SSH_FXF_WRITE, &rw), 0);
    assert_int_equal(tc_copy_data(t, &rw, 0, 5, &rw, 2), SSH_FX_FAILURE);
    assert_int_equal(tc_copy_data(t, &rw, 0, 2, &rw, 8), 0);
    assert_int_equal(tc_close(t, &rw), 0);
    assert_int_equal(tc_host_read(t->root, "src", buf, sizeof buf), 10);
    assert_string_equal(buf, "0123456701");
    tc_free(t);
}

static void test_users_groups_by_id(void **state)
{
    (void)state;
    tc *t = ready();
    uint32_t id = ext_begin(t, "users-groups-by-id@openssh.com");
    uint8_t uids[8], gids[4];
    sfk_put_u32(uids, getuid());
    sfk_put_u32(uids + 4, 4000000000u); /* nobody has this one */
    sfk_put_u32(gids, getgid());
    tc_str(t, uids, sizeof uids);
    tc_str(t, gids, sizeof gids);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
    assert_int_equal(t->id, id);
    size_t ulen, glen;
    const uint8_t *u = sfk_rd_str(&t->rd, &ulen);
    const uint8_t *g = sfk_rd_str(&t->rd, &glen);
    assert_false(t->rd.bad);
    sfk_rd ur = sfk_rd_init(u, ulen), gr = sfk_rd_init(g, glen);
    size_t n1, n2, n3;
    const uint8_t *name1 = sfk_rd_str(&ur, &n1);
    sfk_rd_str(&ur, &n2);
    sfk_rd_str(&gr, &n3);
    assert_false(ur.bad || gr.bad);
    struct passwd *pw = getpwuid(getuid());
    if (pw) {
        assert_int_equal(n1, strlen(pw->pw_name));
        assert_memory_equal(name1, pw->pw_name, n1);
    }
    assert_int_equal(n2, 0);
    assert_int_equal(ur.left, 0);
    /* a list that is not a whole number of ids */
    id = ext_begin(t, "users-groups-by-id@openssh.com");
    tc_str(t, uids, 5);
    tc_str(t, gids, 4);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_BAD_MESSAGE);
    tc_free(t);
}

static void test_engine_without_local_fs(void **state)
{
    (void)state;
    tc *t = tc_new_with(NULL, "", 1);
    assert_int_equal(tc_init(t, 3), 3);
    tc_attrs a;
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/", &a), SSH_FX_OP_UNSUPPORTED);
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &h), SSH_FX_OP_UNSUPPORTED);
    assert_int_equal(tc_opendir(t, "/", &h), SSH_FX_OP_UNSUPPORTED);
    char out[64];
    tc_send_path(t, SSH_FXP_REALPATH, "a/..");
    assert_int_equal(tc_name1(t, out, sizeof out), 0);
    assert_string_equal(out, "/");
    tc_free(t);
    /* a root that does not exist: no engine, and the error names it */
    sfk_engine_config cfg = {.root = "/nonexistent/sftpkit-root"};
    assert_null(sfk_engine_new(&cfg));
    assert_non_null(strstr(sftpkit_last_error_message(), "/nonexistent/sftpkit-root"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_write_read_close),
        cmocka_unit_test(test_handles_are_unique_across_sessions),
        cmocka_unit_test(test_open_flags),
        cmocka_unit_test(test_many_handles_and_the_limit),
        cmocka_unit_test(test_stat_lstat_fstat),
        cmocka_unit_test(test_setstat_and_fsetstat),
        cmocka_unit_test(test_opendir_readdir_and_long_names),
        cmocka_unit_test(test_large_directory_in_batches),
        cmocka_unit_test(test_mkdir_without_attributes_is_malformed),
        cmocka_unit_test(test_mkdir_rmdir_status_paths),
        cmocka_unit_test(test_realpath),
        cmocka_unit_test(test_remove_and_rename),
        cmocka_unit_test(test_symlink_uses_openssh_order_and_readlink),
        cmocka_unit_test(test_statvfs_fstatvfs_fsync_hardlink),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_expand_path_and_home_directory),
        cmocka_unit_test(test_copy_data),
        cmocka_unit_test(test_users_groups_by_id),
        cmocka_unit_test(test_engine_without_local_fs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
