/* samples/c/memfs — a file system made of events alone — passes the same file-operation
 * scenario as the local backend, through the engine. */
#include "test_sftp_helpers.h"

/* The sample is written against the public API only; it is compiled into this test as is. */
#include "../../samples/c/memfs/memfs.c"

static void expect_dir_has(tc *t, const char *dir, const char *name, uint64_t size, int is_dir)
{
    tc_handle h;
    assert_int_equal(tc_opendir(t, dir, &h), 0);
    int found = 0;
    for (;;) {
        uint32_t id = tc_handle_req(t, SSH_FXP_READDIR, &h);
        uint8_t type = tc_next(t);
        assert_int_equal(t->id, id);
        if (type == SSH_FXP_STATUS) {
            assert_int_equal(sfk_rd_u32(&t->rd), SSH_FX_EOF);
            break;
        }
        uint32_t n = sfk_rd_u32(&t->rd);
        for (uint32_t i = 0; i < n; i++) {
            char nm[256], longname[512];
            tc_rd_cstr(t, nm, sizeof nm);
            tc_rd_cstr(t, longname, sizeof longname);
            tc_attrs a;
            tc_rd_attrs(t, &a);
            if (strcmp(nm, name))
                continue;
            found = 1;
            assert_int_equal(!!S_ISDIR(a.perm), is_dir);
            if (!is_dir)
                assert_int_equal(a.size, size);
            assert_non_null(strstr(longname, name));
            assert_int_equal(longname[0], is_dir ? 'd' : '-');
        }
    }
    assert_int_equal(tc_close(t, &h), 0);
    if (!found)
        fail_msg("%s not listed in %s", name, dir);
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

/* The scenario: what an SFTP client does with files, checked only through SFTP. */
static void scenario(tc *t)
{
    assert_int_equal(tc_init(t, 3), 3);
    char out[256];
    tc_send_path(t, SSH_FXP_REALPATH, ".");
    assert_int_equal(tc_name1(t, out, sizeof out), 0);
    assert_string_equal(out, "/");
    assert_int_equal(mkdir_req(t, "/docs"), 0);
    assert_int_not_equal(mkdir_req(t, "/docs"), 0);
    assert_int_equal(mkdir_req(t, "/no/such/parent"), SSH_FX_NO_SUCH_FILE);

    /* upload 100 KB in pieces */
    static char data[100000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 + i / 251);
    tc_handle h;
    assert_int_equal(tc_open(t, "/docs/a.bin", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, &h), 0);
    for (size_t off = 0; off < sizeof data; off += 32768) {
        size_t n = sizeof data - off < 32768 ? sizeof data - off : 32768;
        assert_int_equal(tc_write(t, &h, off, data + off, n), 0);
    }
    uint32_t id = tc_handle_req(t, SSH_FXP_FSTAT, &h);
    assert_int_equal(tc_next(t), SSH_FXP_ATTRS);
    assert_int_equal(t->id, id);
    tc_attrs a;
    tc_rd_attrs(t, &a);
    assert_int_equal(a.size, sizeof data);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "docs/a.bin", &a), 0);
    assert_int_equal(a.size, sizeof data);
    assert_true(S_ISREG(a.perm));
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/docs", &a), 0);
    assert_true(S_ISDIR(a.perm));

    /* download and compare */
    static char back[100000];
    assert_int_equal(tc_open(t, "/docs/a.bin", SSH_FXF_READ, &h), 0);
    size_t total = 0;
    for (;;) {
        size_t got = 0;
        uint32_t st = tc_read(t, &h, total, 40000, back + total, &got);
        if (st == SSH_FX_EOF)
            break;
        assert_int_equal(st, 0);
        total += got;
    }
    assert_int_equal(total, sizeof data);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(tc_close(t, &h), 0);

    expect_dir_has(t, "/docs", "a.bin", sizeof data, 0);
    expect_dir_has(t, "/", "docs", 0, 1);

    /* rename */
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "/docs/a.bin", "/docs/b.bin"), 0);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/docs/a.bin", &a), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/docs/b.bin", &a), 0);
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "/docs/missing", "/docs/c"), SSH_FX_NO_SUCH_FILE);

    /* setstat: size, permissions, times */
    id = tc_begin(t, SSH_FXP_SETSTAT);
    tc_cstr(t, "/docs/b.bin");
    tc_u32(t, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME);
    tc_u64(t, 10);
    tc_u32(t, 0600);
    tc_u32(t, 1500000000);
    tc_u32(t, 1600000000);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_OK);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/docs/b.bin", &a), 0);
    assert_int_equal(a.size, 10);
    assert_int_equal(a.perm & 0777, 0600);
    assert_int_equal(a.mtime, 1600000000);

    /* append */
    assert_int_equal(tc_open(t, "/docs/b.bin", SSH_FXF_WRITE | SSH_FXF_APPEND, &h), 0);
    assert_int_equal(tc_write(t, &h, 0, "XY", 2), 0);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/docs/b.bin", &a), 0);
    assert_int_equal(a.size, 12);
    assert_int_equal(tc_open(t, "/docs/b.bin", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_EXCL, &h), SSH_FX_FAILURE);
    assert_int_equal(tc_open(t, "/docs/none", SSH_FXF_READ, &h), SSH_FX_NO_SUCH_FILE);

    /* a write past the end leaves a gap of zeros, also where a truncated file had data; one
     * inside the file keeps its size */
    static char sparse[5002], want[5002];
    memset(sparse, 'Q', sizeof sparse);
    assert_int_equal(tc_open(t, "/docs/sparse", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, &h), 0);
    assert_int_equal(tc_write(t, &h, 0, sparse, sizeof sparse), 0);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_open(t, "/docs/sparse", SSH_FXF_WRITE | SSH_FXF_TRUNC, &h), 0);
    assert_int_equal(tc_write(t, &h, 0, "head", 4), 0);
    assert_int_equal(tc_write(t, &h, 5000, "AB", 2), 0);
    assert_int_equal(tc_write(t, &h, 1, "EA", 2), 0);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/docs/sparse", &a), 0);
    assert_int_equal(a.size, 5002);
    memcpy(want, "hEAd", 4);
    memcpy(want + 5000, "AB", 2);
    assert_int_equal(tc_open(t, "/docs/sparse", SSH_FXF_READ, &h), 0);
    size_t got = 0;
    assert_int_equal(tc_read(t, &h, 0, sizeof sparse, sparse, &got), 0);
    assert_int_equal(got, sizeof sparse);
    assert_memory_equal(sparse, want, sizeof want);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "/docs/sparse"), 0);

    /* removal */
    assert_int_not_equal(tc_path_status(t, SSH_FXP_RMDIR, "/docs"), 0); /* not empty */
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "/docs/b.bin"), 0);
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "/docs/b.bin"), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "/docs"), 0);
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "/docs"), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/docs", &a), SSH_FX_NO_SUCH_FILE);
}

static void test_local_backend(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    tc *t = tc_new_with(s, NULL, 5);
    scenario(t);
    tc_free(t);
    sftpkit_server_free(s);
}

static void test_memfs_backend(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    memfs *fs = memfs_new();
    assert_int_equal(memfs_install(s, fs), 0);
    tc *t = tc_new_with(s, "", 5); /* no local file system at all */
    scenario(t);
    /* the sample's seeding API sees what SFTP did, and the other way round */
    assert_int_equal(memfs_put(fs, "/seeded.txt", "seed", 4), 0);
    tc_attrs a;
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "/seeded.txt", &a), 0);
    assert_int_equal(a.size, 4);
    tc_free(t);
    sftpkit_server_free(s); /* frees fs */
}

/* memfs_set_max_file_size: a write or SETSTAT past the cap is refused and changes nothing. */
static void test_memfs_max_file_size(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    memfs *fs = memfs_new();
    assert_int_equal(memfs_set_max_file_size(fs, 0), -1);
    assert_int_equal(memfs_set_max_file_size(fs, 8192), 0);
    assert_int_equal(memfs_install(s, fs), 0);
    tc *t = tc_new_with(s, "", 5);
    assert_int_equal(tc_init(t, 3), 3);
    tc_handle h;
    assert_int_equal(tc_open(t, "/f", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, &h), 0);
    assert_int_equal(tc_write(t, &h, 8190, "ok", 2), 0);
    assert_int_equal(tc_write(t, &h, 8190, "abc", 3), SSH_FX_PERMISSION_DENIED);
    assert_int_equal(tc_close(t, &h), 0);
    size_t len = 0;
    char *c = memfs_get(fs, "/f", &len);
    assert_non_null(c);
    assert_int_equal(len, 8192);
    assert_memory_equal(c + 8190, "ok", 2);
    free(c);
    assert_int_equal(memfs_put(fs, "/big", "x", 1), 0);
    static char big[8193];
    assert_int_equal(memfs_put(fs, "/big", big, sizeof big), -1);
    tc_free(t);
    sftpkit_server_free(s);
}

/* Two sessions on one memfs see each other's files. */
static void test_memfs_shared_between_sessions(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    memfs *fs = memfs_new();
    assert_int_equal(memfs_install(s, fs), 0);
    tc *a = tc_new_with(s, "", 1), *b = tc_new_with(s, "", 2);
    assert_int_equal(tc_init(a, 3), 3);
    assert_int_equal(tc_init(b, 3), 3);
    tc_handle h;
    assert_int_equal(tc_open(a, "/shared", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
    assert_int_equal(tc_write(a, &h, 0, "from a", 6), 0);
    assert_int_equal(tc_close(a, &h), 0);
    assert_int_equal(tc_open(b, "/shared", SSH_FXF_READ, &h), 0);
    char buf[16];
    size_t got;
    assert_int_equal(tc_read(b, &h, 0, sizeof buf, buf, &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, "from a", 6);
    /* removed while b has it open: b still reads it */
    assert_int_equal(tc_path_status(a, SSH_FXP_REMOVE, "/shared"), 0);
    assert_int_equal(tc_read(b, &h, 0, sizeof buf, buf, &got), 0);
    assert_int_equal(tc_close(b, &h), 0);
    tc_free(a);
    tc_free(b);
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_backend),
        cmocka_unit_test(test_memfs_backend),
        cmocka_unit_test(test_memfs_shared_between_sessions),
        cmocka_unit_test(test_memfs_max_file_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
