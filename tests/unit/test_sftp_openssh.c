/* The engine against OpenSSH's own sftp client, without SSH: `sftp -D PROGRAM` speaks SFTP
 * over pipes to a local server program, and this test binary is that program when started as
 * `test_sftp_openssh --serve ROOT`. Every file operation of the client's batch mode is checked
 * on disk, with checksums for transfers. (Through SSH the transport issue's integration tests
 * cover the same ground.) */
#include "test_sftp_helpers.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "write_all.h"

static char self_path[512];

/* ---- the stdio server ----------------------------------------------------------------------- */

static int serve(const char *root, int read_only)
{
    sftpkit_server *s = sftpkit_server_new();
    if (read_only)
        sftpkit_server_set_read_only(s, 1);
    sfk_engine_config cfg = {.server = s, .connection_id = 1, .username = "tester", .root = root};
    sfk_engine *e = sfk_engine_new(&cfg);
    if (!e) {
        fprintf(stderr, "serve: %s\n", sftpkit_last_error_message());
        return 1;
    }
    size_t cap = sfk_engine_read_size(e);
    uint8_t *buf = malloc(cap);
    int rc = 0;
    for (;;) {
        ssize_t n = read(0, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (sfk_engine_input(e, buf, (size_t)n) != 0) {
            fprintf(stderr, "serve: %s\n", sftpkit_last_error_message());
            rc = 1;
            break;
        }
        size_t len; /* drain everything, including requests released by consume */
        const uint8_t *out;
        while ((out = sfk_engine_output(e, &len)) && len) {
            if (test_write_all(1, out, len) < 0) {
                rc = 1;
                goto done;
            }
            sfk_engine_consume(e, len);
        }
    }
done:
    free(buf);
    sfk_engine_free(e);
    sftpkit_server_free(s);
    return rc;
}

/* ---- driving OpenSSH's client --------------------------------------------------------------- */

typedef struct {
    char base[64], root[128], local[128];
} env;

static void env_new(env *v)
{
    snprintf(v->base, sizeof v->base, "/tmp/sfko.XXXXXX");
    assert_non_null(mkdtemp(v->base));
    snprintf(v->root, sizeof v->root, "%s/root", v->base);
    snprintf(v->local, sizeof v->local, "%s/local", v->base);
    assert_int_equal(mkdir(v->root, 0755), 0);
    assert_int_equal(mkdir(v->local, 0755), 0);
}

static void env_free(env *v)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s; rm -rf %s", v->base, v->base);
    assert_int_equal(system(cmd), 0);
}

/* Runs `sftp -b BATCH -D "self --serve ROOT"` with cwd = local; returns its exit status and its
 * output in out. */
static int run_sftp(env *v, const char *batch, int read_only, char *out, size_t cap)
{
    char bpath[256], cmd[2048];
    snprintf(bpath, sizeof bpath, "%s/batch", v->base);
    FILE *f = fopen(bpath, "w");
    assert_non_null(f);
    fputs(batch, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && sftp -b %s -D '%s --serve %s%s' 2>&1", v->local, bpath, self_path, v->root,
             read_only ? " --read-only" : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void make_random_file(const char *path, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned x = 2463534242u;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        fputc((int)(x & 0xff), f);
    }
    fclose(f);
}

static int same_files(const char *a, const char *b)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

static void test_put_get_large_file(void **state)
{
    (void)state;
    env v;
    env_new(&v);
    char src[256], dst[256], remote[256];
    snprintf(src, sizeof src, "%s/big.src", v.local);
    snprintf(dst, sizeof dst, "%s/big.dst", v.local);
    snprintf(remote, sizeof remote, "%s/big.bin", v.root);
    make_random_file(src, 5 * 1024 * 1024 + 12345); /* several 255 KiB requests and a tail */
    static char out[65536];
    int rc = run_sftp(&v, "put big.src big.bin\nget big.bin big.dst\n", 0, out, sizeof out);
    if (rc != 0)
        fail_msg("sftp failed (%d):\n%s", rc, out);
    assert_true(same_files(src, remote));
    assert_true(same_files(src, dst));
    env_free(&v);
}

static void test_file_operations(void **state)
{
    (void)state;
    env v;
    env_new(&v);
    tc_put_file(v.local, "a.txt", "alpha\n");
    static char out[65536];
    const char *batch = "pwd\n"
                        "mkdir docs\n"
                        "cd docs\n"
                        "put a.txt\n"
                        "rename a.txt b.txt\n"
                        "chmod 600 b.txt\n"
                        "ln -s b.txt link\n"
                        "ln b.txt hard\n"
                        "ls -l\n"
                        "get link from-link.txt\n"
                        "df -h .\n"
                        "cd ..\n"
                        "mkdir gone\n"
                        "rmdir gone\n"
                        "rm docs/hard\n"
                        "-rm docs/missing\n"
                        "cd /docs/../docs\n"
                        "pwd\n";
    int rc = run_sftp(&v, batch, 0, out, sizeof out);
    if (rc != 0)
        fail_msg("sftp failed (%d):\n%s", rc, out);
    assert_non_null(strstr(out, "Remote working directory: /\n"));
    assert_non_null(strstr(out, "Remote working directory: /docs\n"));
    /* ls -l: the client formats it from the attributes */
    assert_non_null(strstr(out, "-rw-------"));
    assert_non_null(strstr(out, "b.txt"));
    assert_non_null(strstr(out, "lrwxrwxrwx"));
    assert_non_null(strstr(out, "Size")); /* df */
    char buf[64];
    assert_int_equal(tc_host_read(v.root, "docs/b.txt", buf, sizeof buf), 6);
    assert_string_equal(buf, "alpha\n");
    assert_int_equal(tc_host_read(v.local, "from-link.txt", buf, sizeof buf), 6);
    char p[300], target[64];
    snprintf(p, sizeof p, "%s/docs/link", v.root);
    ssize_t n = readlink(p, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, "b.txt");
    struct stat sb;
    snprintf(p, sizeof p, "%s/docs/b.txt", v.root);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_nlink, 1); /* the hard link was made, then removed */
    assert_false(tc_host_exists(v.root, "docs/a.txt"));
    assert_false(tc_host_exists(v.root, "gone"));
    env_free(&v);
}

static void test_recursive_put_get(void **state)
{
    (void)state;
    env v;
    env_new(&v);
    char p[300];
    snprintf(p, sizeof p, "%s/tree", v.local);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/tree/sub", v.local);
    assert_int_equal(mkdir(p, 0755), 0);
    for (int i = 0; i < 300; i++) {
        char rel[64], content[64];
        snprintf(rel, sizeof rel, "tree/%sf%03d", i % 3 ? "" : "sub/", i);
        snprintf(content, sizeof content, "file %d\n", i);
        tc_put_file(v.local, rel, content);
    }
    static char out[131072];
    int rc = run_sftp(&v, "put -r tree\nget -r tree back\nls tree/sub\n", 0, out, sizeof out);
    if (rc != 0)
        fail_msg("sftp failed (%d):\n%s", rc, out);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "diff -r %s/tree %s/tree >/dev/null && diff -r %s/tree %s/back >/dev/null", v.local,
             v.root, v.local, v.local);
    assert_int_equal(system(cmd), 0);
    assert_non_null(strstr(out, "f297"));
    env_free(&v);
}

static void test_read_only_and_confinement_with_openssh(void **state)
{
    (void)state;
    env v;
    env_new(&v);
    tc_put_file(v.root, "keep.txt", "keep");
    tc_put_file(v.local, "up.txt", "up");
    static char out[65536];
    /* every change refused; the batch goes on past failures ("-" prefix) */
    int rc =
        run_sftp(&v, "-put up.txt\n-mkdir d\n-rm keep.txt\n-rename keep.txt k2\n-chmod 777 keep.txt\nget keep.txt\n", 1,
                 out, sizeof out);
    if (rc != 0)
        fail_msg("sftp failed (%d):\n%s", rc, out);
    assert_non_null(strstr(out, "Permission denied"));
    assert_false(tc_host_exists(v.root, "up.txt"));
    assert_false(tc_host_exists(v.root, "d"));
    assert_false(tc_host_exists(v.root, "k2"));
    assert_true(tc_host_exists(v.local, "keep.txt"));
    /* confinement: ".." and absolute paths stay in the root */
    rc = run_sftp(&v, "cd ../../../..\npwd\n-get /etc/passwd stolen\n", 0, out, sizeof out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Remote working directory: /\n"));
    assert_false(tc_host_exists(v.local, "stolen"));
    env_free(&v);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--serve")) {
        signal(SIGPIPE, SIG_IGN);
        return serve(argv[2], argc >= 4 && !strcmp(argv[3], "--read-only"));
    }
    if (!realpath(argv[0], self_path)) {
        perror("realpath");
        return 1;
    }
    if (system("command -v sftp >/dev/null 2>&1") != 0) {
        fprintf(stderr, "OpenSSH's sftp client is required (openssh-client)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_large_file),
        cmocka_unit_test(test_file_operations),
        cmocka_unit_test(test_recursive_put_get),
        cmocka_unit_test(test_read_only_and_confinement_with_openssh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
