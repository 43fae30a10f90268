/* The traversal suite: no request reaches outside the root — not through "..", absolute paths,
 * symlinks that exist or that the client makes, nor rename / hardlink / copy-data across the
 * root. Every case runs twice: with openat2(RESOLVE_IN_ROOT) and with the portable component
 * walk used on kernels without it. Afterwards the outside directory must be exactly as it was.
 * Also: read_only refuses every change. */
#include "test_sftp_helpers.h"

#include <errno.h>

#include "fs/local.h"
#include "fs/path.h"
#include "sftp/engine_int.h"

#define SECRET "top secret"

/* root/ and outside/ side by side; outside/secret holds SECRET; root holds links pointing out. */
static tc *setup(int walk)
{
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    sfk_fs_force_walk(t->e->fs, walk);
    assert_int_equal(sfk_fs_uses_openat2(t->e->fs), !walk);
    tc_put_file(t->outside, "secret", SECRET);
    char p[600], target[600];
    snprintf(p, sizeof p, "%s/secret", t->outside);
    assert_int_equal(chmod(p, 0640), 0);
    snprintf(p, sizeof p, "%s/abs_out", t->root); /* absolute link to the outside dir */
    assert_int_equal(symlink(t->outside, p), 0);
    snprintf(p, sizeof p, "%s/rel_out", t->root); /* relative link climbing out */
    assert_int_equal(symlink("../outside", p), 0);
    snprintf(p, sizeof p, "%s/file_out", t->root); /* link to a file outside */
    snprintf(target, sizeof target, "%s/secret", t->outside);
    assert_int_equal(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/deep_out", t->root); /* many ".." */
    assert_int_equal(symlink("../../../../../../../../../../etc", p), 0);
    snprintf(p, sizeof p, "%s/proc_out", t->root); /* a /proc magic link */
    assert_int_equal(symlink("/proc/self/root/etc/passwd", p), 0);
    snprintf(p, sizeof p, "%s/loop", t->root);
    assert_int_equal(symlink("loop", p), 0);
    snprintf(p, sizeof p, "%s/sub", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    tc_put_file(t->root, "inside", "inside data");
    return t;
}

/* outside/ holds exactly "secret" with its content and mode. */
static void check_outside_untouched(tc *t)
{
    DIR *d = opendir(t->outside);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++, assert_string_equal(de->d_name, "secret");
    closedir(d);
    assert_int_equal(n, 1);
    char buf[64];
    assert_int_equal(tc_host_read(t->outside, "secret", buf, sizeof buf), strlen(SECRET));
    assert_string_equal(buf, SECRET);
    char p[600];
    snprintf(p, sizeof p, "%s/secret", t->outside);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    assert_int_equal(sb.st_nlink, 1);
}

/* Paths that name the secret in some way; opening any of them must not give its content. */
static const char *escapes[] = {
    "../outside/secret",
    "/../outside/secret",
    "../../../../../../outside/secret",
    "abs_out/secret",
    "rel_out/secret",
    "file_out",
    "sub/../../outside/secret",
    "deep_out/passwd",
    "proc_out",
    "loop",
    "loop/x",
    "./rel_out/./secret",
};
#define N_ESC (sizeof escapes / sizeof escapes[0])

static void reads_never_reach_outside(tc *t)
{
    char host_secret[600];
    snprintf(host_secret, sizeof host_secret, "%s/secret", t->outside); /* an absolute host path */
    for (size_t i = 0; i <= N_ESC; i++) {
        const char *path = i < N_ESC ? escapes[i] : host_secret;
        tc_handle h;
        uint32_t st = tc_open(t, path, SSH_FXF_READ, &h);
        if (st == 0) { /* only possible if it resolved to something inside; never the secret */
            char buf[64];
            size_t got = 0;
            uint32_t rs = tc_read(t, &h, 0, sizeof buf, buf, &got);
            assert_false(rs == 0 && got == strlen(SECRET) && !memcmp(buf, SECRET, got));
            tc_close(t, &h);
            fail_msg("%s opened", path);
        }
        assert_true(st == SSH_FX_NO_SUCH_FILE || st == SSH_FX_PERMISSION_DENIED);
        tc_attrs a;
        st = tc_stat(t, SSH_FXP_STAT, path, &a);
        assert_true(st == SSH_FX_NO_SUCH_FILE || st == SSH_FX_PERMISSION_DENIED);
        st = tc_opendir(t, path, &h);
        assert_true(st == SSH_FX_NO_SUCH_FILE || st == SSH_FX_PERMISSION_DENIED);
    }
    /* the links themselves are inside and can be looked at */
    tc_attrs a;
    assert_int_equal(tc_stat(t, SSH_FXP_LSTAT, "abs_out", &a), 0);
    assert_true(S_ISLNK(a.perm));
    /* ".." at the root is the root */
    tc_handle h;
    assert_int_equal(tc_opendir(t, "..", &h), 0);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(tc_stat(t, SSH_FXP_STAT, "../../inside", &a), 0);
    assert_int_equal(a.size, strlen("inside data"));
}

static void writes_never_reach_outside(tc *t)
{
    char host_dir[600];
    snprintf(host_dir, sizeof host_dir, "%s/new", t->outside);
    const char *targets[] = {"../outside/new", "abs_out/new",           "rel_out/new",
                             "file_out",       "sub/../../outside/new", host_dir};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        tc_handle h;
        uint32_t st = tc_open(t, targets[i], SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, &h);
        if (st == 0) {
            tc_write(t, &h, 0, "pwned", 5);
            tc_close(t, &h);
        }
        uint32_t id = tc_begin(t, SSH_FXP_MKDIR);
        tc_cstr(t, targets[i]);
        tc_u32(t, 0);
        assert_int_equal(tc_send(t), 0);
        assert_int_equal(tc_next(t), SSH_FXP_STATUS);
        assert_int_equal(t->id, id);
        tc_path_status(t, SSH_FXP_REMOVE, targets[i]);
        tc_path_status(t, SSH_FXP_RMDIR, targets[i]);
        /* setstat through the link: the outside file's mode must not change */
        id = tc_begin(t, SSH_FXP_SETSTAT);
        tc_cstr(t, targets[i]);
        tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_SIZE);
        tc_u64(t, 0);
        tc_u32(t, 0777);
        assert_int_equal(tc_send(t), 0);
        assert_int_equal(tc_next(t), SSH_FXP_STATUS);
        check_outside_untouched(t);
    }
    tc_path_status(t, SSH_FXP_REMOVE, "abs_out/secret");
    tc_path_status(t, SSH_FXP_REMOVE, "rel_out/secret");
    tc_path_status(t, SSH_FXP_REMOVE, "../outside/secret");
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "lsetstat@openssh.com");
    tc_cstr(t, "abs_out/secret");
    tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS);
    tc_u32(t, 0777);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, SSH_FX_NO_SUCH_FILE);
    check_outside_untouched(t);
}

static void renames_and_links_stay_inside(tc *t)
{
    /* moving something out, or the secret in */
    const char *pairs[][2] = {
        {"inside", "../outside/moved"}, {"inside", "abs_out/moved"},
        {"inside", "rel_out/moved"},    {"abs_out/secret", "stolen"},
        {"rel_out/secret", "stolen"},   {"../outside/secret", "stolen"},
        {"file_out", "sub/link_copy"},  {"sub/../../outside/secret", "stolen"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        tc_two_paths(t, SSH_FXP_RENAME, NULL, pairs[i][0], pairs[i][1]);
        tc_two_paths(t, SSH_FXP_EXTENDED, "posix-rename@openssh.com", pairs[i][0], pairs[i][1]);
        tc_two_paths(t, SSH_FXP_EXTENDED, "hardlink@openssh.com", pairs[i][0], pairs[i][1]);
        check_outside_untouched(t);
    }
    /* whatever got renamed or linked inside, none of it reads the secret */
    const char *names[] = {"stolen", "sub/link_copy", "inside"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        tc_handle h;
        if (tc_open(t, names[i], SSH_FXF_READ, &h) == 0) {
            char buf[64];
            size_t got = 0;
            tc_read(t, &h, 0, sizeof buf, buf, &got);
            assert_false(got == strlen(SECRET) && !memcmp(buf, SECRET, got));
            tc_close(t, &h);
        }
    }
    /* the root itself is not renamed, linked or removed */
    assert_int_not_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "posix-rename@openssh.com", "/", "x"), 0);
    assert_int_not_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "hardlink@openssh.com", "/", "x"), 0);
    assert_int_not_equal(tc_path_status(t, SSH_FXP_RMDIR, "/"), 0);
    struct stat sb;
    assert_int_equal(stat(t->root, &sb), 0);
}

static void client_made_links_stay_inside(tc *t)
{
    char host_secret[600];
    snprintf(host_secret, sizeof host_secret, "%s/secret", t->outside);
    const char *targets[] = {host_secret, "../outside/secret", "../../../../../..", "/proc/self/root", "/"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "mine%zu", i);
        assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, targets[i], name), SSH_FX_OK);
        char via[64];
        snprintf(via, sizeof via, "%s/outside/secret", name);
        const char *opens[] = {name, via};
        for (int k = 0; k < 2; k++) {
            tc_handle h;
            uint32_t st = tc_open(t, opens[k], SSH_FXF_READ, &h);
            if (st == 0) {
                char buf[64];
                size_t got = 0;
                tc_read(t, &h, 0, sizeof buf, buf, &got);
                assert_false(got == strlen(SECRET) && !memcmp(buf, SECRET, got));
                tc_close(t, &h);
            }
            /* writing through it lands inside, if anywhere */
            if (tc_open(t, opens[k], SSH_FXF_WRITE | SSH_FXF_CREAT, &h) == 0) {
                tc_write(t, &h, 0, "pwned", 5);
                tc_close(t, &h);
            }
        }
        check_outside_untouched(t);
    }
    /* "mine4" -> "/" is the root: listing it lists the root */
    tc_handle h;
    assert_int_equal(tc_opendir(t, "mine4", &h), 0);
    assert_int_equal(tc_close(t, &h), 0);
}

static void run_suite(int walk)
{
    tc *t = setup(walk);
    reads_never_reach_outside(t);
    writes_never_reach_outside(t);
    renames_and_links_stay_inside(t);
    client_made_links_stay_inside(t);
    check_outside_untouched(t);
    tc_free(t);
}

static void test_traversal_with_openat2(void **state)
{
    (void)state;
    run_suite(0);
}

static void test_traversal_with_component_walk(void **state)
{
    (void)state;
    run_suite(1);
}

/* Both resolvers agree on what ordinary paths inside the root mean, links included. */
static void test_resolvers_agree_inside(void **state)
{
    (void)state;
    for (int walk = 0; walk < 2; walk++) {
        tc *t = setup(walk);
        char p[600];
        snprintf(p, sizeof p, "%s/sub/deeper", t->root);
        assert_int_equal(mkdir(p, 0755), 0);
        tc_put_file(t->root, "sub/deeper/f", "deep");
        snprintf(p, sizeof p, "%s/to_sub", t->root);
        assert_int_equal(symlink("sub", p), 0);
        snprintf(p, sizeof p, "%s/sub/up", t->root);
        assert_int_equal(symlink("..", p), 0);
        snprintf(p, sizeof p, "%s/abs_f", t->root);
        assert_int_equal(symlink("/sub/deeper/f", p), 0);
        snprintf(p, sizeof p, "%s/dangling", t->root);
        assert_int_equal(symlink("/sub/created_through_link", p), 0);
        const char *ok[] = {"to_sub/deeper/f", "sub/up/sub/deeper/f", "abs_f", "to_sub/up/to_sub/deeper/f"};
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
            tc_handle h;
            if (tc_open(t, ok[i], SSH_FXF_READ, &h) != 0)
                fail_msg("%s (walk=%d) did not open", ok[i], walk);
            char buf[16];
            size_t got;
            assert_int_equal(tc_read(t, &h, 0, sizeof buf, buf, &got), 0);
            assert_int_equal(got, 4);
            assert_int_equal(tc_close(t, &h), 0);
        }
        /* O_CREAT through a dangling link creates its target, inside */
        tc_handle h;
        assert_int_equal(tc_open(t, "dangling", SSH_FXF_WRITE | SSH_FXF_CREAT, &h), 0);
        assert_int_equal(tc_close(t, &h), 0);
        assert_true(tc_host_exists(t->root, "sub/created_through_link"));
        assert_int_equal(tc_open(t, "dangling", SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_EXCL, &h), SSH_FX_FAILURE);
        tc_attrs a;
        assert_int_equal(tc_stat(t, SSH_FXP_STAT, "loop", &a), SSH_FX_NO_SUCH_FILE); /* ELOOP */
        tc_free(t);
    }
}

static void test_path_normalization(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"", ""},
        {"/", ""},
        {".", ""},
        {"..", ""},
        {"/..", ""},
        {"a", "a"},
        {"/a/", "a"},
        {"a//b", "a/b"},
        {"a/./b", "a/b"},
        {"a/../b", "b"},
        {"../a", "a"},
        {"a/b/../..", ""},
        {"a/b/c/../../d", "a/d"},
        {"...", "..."},
        {"a/..b", "a/..b"},
    };
    char out[SFK_PATH_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = sfk_path_normalize(cases[i][0], strlen(cases[i][0]), out, sizeof out);
        assert_int_equal(n, strlen(cases[i][1]));
        assert_string_equal(out, cases[i][1]);
    }
    assert_int_equal(sfk_path_normalize("a\0b", 3, out, sizeof out), -EINVAL);
    char longp[SFK_PATH_MAX + 100];
    memset(longp, 'x', sizeof longp);
    assert_int_equal(sfk_path_normalize(longp, sizeof longp, out, sizeof out), -ENAMETOOLONG);
    assert_true(sfk_utf8_valid("h\xc3\xa9llo", 6));
    assert_false(sfk_utf8_valid("\xc3", 1));
    assert_false(sfk_utf8_valid("\xc0\xaf", 2));     /* overlong "/" */
    assert_false(sfk_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(sfk_utf8_valid("\xff", 1));
    assert_true(sfk_utf8_valid("\xf0\x9f\x98\x80", 4));
}

/* read_only: every change is refused (WRITE_PROTECT, which v3 clients see as PERMISSION_DENIED);
 * reading still works; nothing on disk changes. */
static void test_read_only_refuses_every_change(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_read_only(s, 1), 0);
    tc *t = tc_new_with(s, NULL, 3);
    assert_int_equal(tc_init(t, 3), 3);
    tc_put_file(t->root, "f", "data");
    char p[600];
    snprintf(p, sizeof p, "%s/f", t->root);
    assert_int_equal(chmod(p, 0644), 0);
    snprintf(p, sizeof p, "%s/d", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    const uint32_t denied = SSH_FX_PERMISSION_DENIED;
    tc_handle h;
    uint32_t wflags[] = {SSH_FXF_WRITE, SSH_FXF_WRITE | SSH_FXF_CREAT, SSH_FXF_APPEND, SSH_FXF_READ | SSH_FXF_TRUNC,
                         SSH_FXF_READ | SSH_FXF_CREAT};
    for (size_t i = 0; i < sizeof wflags / sizeof wflags[0]; i++) {
        assert_int_equal(tc_open(t, "f", wflags[i], &h), denied);
        assert_int_equal(tc_open(t, "new", wflags[i], &h), denied);
    }
    uint32_t id = tc_begin(t, SSH_FXP_MKDIR);
    tc_cstr(t, "nd");
    tc_u32(t, 0);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, denied);
    assert_int_equal(tc_path_status(t, SSH_FXP_RMDIR, "d"), denied);
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "f"), denied);
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "f", "g"), denied);
    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "posix-rename@openssh.com", "f", "g"), denied);
    assert_int_equal(tc_two_paths(t, SSH_FXP_EXTENDED, "hardlink@openssh.com", "f", "g"), denied);
    assert_int_equal(tc_two_paths(t, SSH_FXP_SYMLINK, NULL, "f", "g"), denied);
    id = tc_begin(t, SSH_FXP_SETSTAT);
    tc_cstr(t, "f");
    tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS);
    tc_u32(t, 0777);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, denied);
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "lsetstat@openssh.com");
    tc_cstr(t, "f");
    tc_u32(t, SSH_FILEXFER_ATTR_SIZE);
    tc_u64(t, 0);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, denied);
    /* reading works; FSETSTAT on a read handle is a change and refused */
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &h), 0);
    id = tc_begin(t, SSH_FXP_FSETSTAT);
    tc_str(t, h.s, h.len);
    tc_u32(t, SSH_FILEXFER_ATTR_SIZE);
    tc_u64(t, 0);
    assert_int_equal(tc_send(t), 0);
    tc_expect_status(t, id, denied);
    char buf[16];
    size_t got;
    assert_int_equal(tc_read(t, &h, 0, sizeof buf, buf, &got), 0);
    assert_int_equal(got, 4);
    assert_int_equal(tc_write(t, &h, 0, "x", 1), denied);
    assert_int_equal(tc_close(t, &h), 0);
    /* statvfs says read-only */
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "statvfs@openssh.com");
    tc_cstr(t, "/");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
    for (int i = 0; i < 9; i++)
        sfk_rd_u64(&t->rd);
    assert_true(sfk_rd_u64(&t->rd) & SSH2_FXE_STATVFS_ST_RDONLY);
    /* nothing changed */
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 4);
    struct stat sb;
    snprintf(p, sizeof p, "%s/f", t->root);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    assert_false(tc_host_exists(t->root, "g"));
    assert_false(tc_host_exists(t->root, "new"));
    assert_false(tc_host_exists(t->root, "nd"));
    assert_true(tc_host_exists(t->root, "d"));
    tc_free(t);
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traversal_with_openat2),         cmocka_unit_test(test_traversal_with_component_walk),
        cmocka_unit_test(test_resolvers_agree_inside),         cmocka_unit_test(test_path_normalization),
        cmocka_unit_test(test_read_only_refuses_every_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
