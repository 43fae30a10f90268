/* Behaviour that real clients depend on and that OpenSSH's sftp-server defines: the SYMLINK
 * argument order per client, REALPATH through symlinks (inside the root only), the root's "..",
 * copy-data bounds and cancellation, READ of 0 bytes, and the mode/owner settings. Engine only
 * (no socket). */
#include "test_sftp_helpers.h"

#include <stdatomic.h>

#include "sftp/symlink_order.h"
#include "sftpkit/sftpkit_consts.h"

static void host_path(const tc *t, const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", t->root, rel);
}

static void host_mkdir(const tc *t, const char *rel)
{
    char p[600];
    host_path(t, rel, p, sizeof p);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void host_symlink(const tc *t, const char *target, const char *rel)
{
    char p[600];
    host_path(t, rel, p, sizeof p);
    assert_int_equal(symlink(target, p), 0);
}

/* The link rel's target on the host ("" when rel is not a symlink). */
static const char *host_readlink(const tc *t, const char *rel, char *buf, size_t cap)
{
    char p[600];
    host_path(t, rel, p, sizeof p);
    ssize_t n = readlink(p, buf, cap - 1);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static tc *ready_banner(sftpkit_server *s, const char *banner)
{
    tc *t = tc_new_full(s, NULL, 1, banner, NULL);
    assert_int_equal(tc_init(t, 3), 3);
    return t;
}

static void config(sftpkit_server *s, const char *setting)
{
    char *out = NULL;
    assert_int_equal(sftpkit_server_config(s, setting, &out), 0);
    sftpkit_free(out);
}

/* ---- SYMLINK argument order ----------------------------------------------------------------- */

static void test_symlink_order_table(void **state)
{
    (void)state;
    const char *sftpkit = "sftpkit_0.1.0";
    /* the families that send the draft's order to a server that is not OpenSSH */
    assert_true(sfk_symlink_client_sends_draft("SSH-2.0-AsyncSSH_2.14.2", sftpkit));
    assert_true(sfk_symlink_client_sends_draft("SSH-2.0-ssh2js1.16.0", sftpkit));
    assert_true(sfk_symlink_client_sends_draft("SSH-2.0-phpseclib_3.0", sftpkit));
    assert_true(sfk_symlink_client_sends_draft("SSH-2.0-Ruby/Net::SSH_7.0.1 x86_64-linux-gnu", sftpkit));
    /* ... and switch to OpenSSH's order when our software name looks like what they test for */
    assert_false(sfk_symlink_client_sends_draft("SSH-2.0-AsyncSSH_2.14.2", "OpenSSH_9.2"));
    assert_false(sfk_symlink_client_sends_draft("SSH-2.0-AsyncSSH_2.14.2", "my-paramiko-box"));
    assert_true(sfk_symlink_client_sends_draft("SSH-2.0-AsyncSSH_2.14.2", "dropbear_2022"));
    assert_false(sfk_symlink_client_sends_draft("SSH-2.0-ssh2js1.16.0", "dropbear_2022"));
    assert_true(sfk_symlink_client_sends_draft("SSH-2.0-ssh2js1.16.0", "NotOpenSSH"));     /* a prefix test */
    assert_false(sfk_symlink_client_sends_draft("SSH-2.0-AsyncSSH_2.14.2", "NotOpenSSH")); /* a substring */
    assert_false(sfk_symlink_client_sends_draft("SSH-2.0-phpseclib_3.0", "OpenSSH_8.4"));
    assert_true(sfk_symlink_client_sends_draft("SSH-2.0-Ruby/Net::SSH_7.0.1", "OpenSSH_9.2")); /* always */
    /* everyone else sends OpenSSH's order */
    assert_false(sfk_symlink_client_sends_draft("SSH-2.0-OpenSSH_9.2p1 Debian-2", sftpkit));
    assert_false(sfk_symlink_client_sends_draft("SSH-2.0-paramiko_3.0.0", sftpkit));
    assert_false(sfk_symlink_client_sends_draft("SSH-2.0-PuTTY_Release_0.78", sftpkit));
    assert_false(sfk_symlink_client_sends_draft(NULL, sftpkit));
    assert_false(sfk_symlink_client_sends_draft("", NULL));
    assert_string_equal(sfk_symlink_client_family("SSH-2.0-phpseclib_3.0"), "phpseclib");
    assert_null(sfk_symlink_client_family("SSH-2.0-OpenSSH_9.2"));
}

/* Sends SYMLINK with the two strings as given and returns the status. */
static uint32_t raw_symlink(tc *t, const char *first, const char *second)
{
    return tc_two_paths(t, SSH_FXP_SYMLINK, NULL, first, second);
}

static void test_symlink_order_per_connection(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    char buf[300];
    /* AsyncSSH to sftpkit: (link, target) */
    tc *t = ready_banner(s, "SSH-2.0-AsyncSSH_2.14.2");
    tc_put_file(t->root, "later.txt", "L");
    assert_int_equal(raw_symlink(t, "lnk", "later.txt"), SSH_FX_OK);
    assert_string_equal(host_readlink(t, "lnk", buf, sizeof buf), "later.txt");
    assert_false(tc_host_exists(t->root, "lnk2"));
    tc_free(t);
    /* OpenSSH's sftp: (target, link) */
    t = ready_banner(s, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
    assert_int_equal(raw_symlink(t, "later.txt", "lnk"), SSH_FX_OK);
    assert_string_equal(host_readlink(t, "lnk", buf, sizeof buf), "later.txt");
    tc_free(t);
    /* our software name made to look like OpenSSH: AsyncSSH then sends OpenSSH's order */
    assert_int_equal(sftpkit_server_set_ssh_settings_software_name(s, "OpenSSH_9.9"), 0);
    t = ready_banner(s, "SSH-2.0-AsyncSSH_2.14.2");
    assert_int_equal(raw_symlink(t, "later.txt", "lnk"), SSH_FX_OK);
    assert_string_equal(host_readlink(t, "lnk", buf, sizeof buf), "later.txt");
    tc_free(t);
    /* forced orders win over the table */
    config(s, "SymlinkArgumentOrder=draft");
    t = ready_banner(s, "SSH-2.0-OpenSSH_9.2");
    assert_int_equal(raw_symlink(t, "lnk", "later.txt"), SSH_FX_OK);
    assert_string_equal(host_readlink(t, "lnk", buf, sizeof buf), "later.txt");
    tc_free(t);
    config(s, "SymlinkArgumentOrder=openssh");
    t = ready_banner(s, "SSH-2.0-Ruby/Net::SSH_7.0.1 x86_64-linux");
    assert_int_equal(raw_symlink(t, "later.txt", "lnk"), SSH_FX_OK);
    assert_string_equal(host_readlink(t, "lnk", buf, sizeof buf), "later.txt");
    tc_free(t);
    char *out = NULL;
    assert_int_not_equal(sftpkit_server_config(s, "SymlinkArgumentOrder=reversed", &out), 0);
    sftpkit_free(out);
    sftpkit_server_free(s);
}

/* ---- REALPATH ------------------------------------------------------------------------------- */

static uint32_t realpath_of(tc *t, const char *path, char *out, size_t cap)
{
    tc_send_path(t, SSH_FXP_REALPATH, path);
    return tc_name1(t, out, cap);
}

static void test_realpath_follows_links_inside_the_root(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    host_mkdir(t, "d");
    host_mkdir(t, "d/e");
    tc_put_file(t->root, "d/f", "F");
    host_symlink(t, "d", "rel");          /* relative */
    host_symlink(t, "/d/f", "abs");       /* absolute: from the root */
    host_symlink(t, "../../../..", "up"); /* climbs: stops at the root */
    host_symlink(t, "..", "d/e/parent");  /* relative to the link's directory */
    host_symlink(t, t->outside, "out");   /* the host's path of a directory outside */
    host_symlink(t, "loop2", "loop1");
    host_symlink(t, "loop1", "loop2");
    const char *cases[][2] = {
        {"rel", "/d"},         {"rel/f", "/d/f"},        {"abs", "/d/f"},       {"/up", "/"},       {"up/d/f", "/d/f"},
        {"d/e/parent", "/d"},  {"d/e/parent/f", "/d/f"}, {"rel/..", "/"},       {"rel/e/..", "/d"}, {"d/../rel", "/d"},
        {"rel/new", "/d/new"}, {"missing", "/missing"},  {"/rel/./e/", "/d/e"}, {".", "/"},         {"", "/"},
    };
    char out[600];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(realpath_of(t, cases[i][0], out, sizeof out), SSH_FX_OK);
        assert_string_equal(out, cases[i][1]);
    }
    /* only the last component may be missing; a file cannot have children */
    assert_int_equal(realpath_of(t, "missing/x", out, sizeof out), SSH_FX_NO_SUCH_FILE);
    assert_int_not_equal(realpath_of(t, "d/f/x", out, sizeof out), SSH_FX_OK);
    /* a link to the host's path of something outside is looked up inside the root: not found */
    assert_int_equal(realpath_of(t, "out/x", out, sizeof out), SSH_FX_NO_SUCH_FILE);
    assert_int_not_equal(realpath_of(t, "loop1", out, sizeof out), SSH_FX_OK);
    tc_free(t);
}

/* ---- the root's ".." ------------------------------------------------------------------------ */

/* Finds name in the listing of dir; its attributes in a. Returns 1 when found. */
static int listing_entry(tc *t, const char *dir, const char *name, tc_attrs *a)
{
    tc_handle h;
    assert_int_equal(tc_opendir(t, dir, &h), 0);
    int found = 0;
    for (;;) {
        tc_handle_req(t, SSH_FXP_READDIR, &h);
        if (tc_next(t) != SSH_FXP_NAME)
            break;
        uint32_t n = sfk_rd_u32(&t->rd);
        for (uint32_t i = 0; i < n; i++) {
            char fn[300], ln[600];
            tc_attrs at;
            tc_rd_cstr(t, fn, sizeof fn);
            tc_rd_cstr(t, ln, sizeof ln);
            tc_rd_attrs(t, &at);
            if (!strcmp(fn, name)) {
                *a = at;
                found = 1;
            }
        }
    }
    assert_int_equal(tc_close(t, &h), 0);
    return found;
}

static void test_root_dotdot_is_the_root(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    host_mkdir(t, "sub");
    /* make the root and its host parent differ visibly */
    char parent[256];
    snprintf(parent, sizeof parent, "%s", t->root);
    *strrchr(parent, '/') = '\0';
    assert_int_equal(chmod(t->root, 0751), 0);
    assert_int_equal(chmod(parent, 0700), 0);
    struct stat root_sb, sub_sb;
    assert_int_equal(stat(t->root, &root_sb), 0);
    char sub[600];
    host_path(t, "sub", sub, sizeof sub);
    assert_int_equal(stat(sub, &sub_sb), 0);
    tc_attrs dot, dotdot;
    assert_true(listing_entry(t, "/", ".", &dot));
    assert_true(listing_entry(t, "/", "..", &dotdot));
    assert_int_equal(dotdot.perm & 07777, 0751);
    assert_int_equal(dotdot.perm, dot.perm);
    assert_int_equal(dotdot.mtime, (uint32_t)root_sb.st_mtime);
    /* a subdirectory's ".." is still its real parent, the root */
    assert_true(listing_entry(t, "/sub", "..", &dotdot));
    assert_int_equal(dotdot.perm & 07777, 0751);
    assert_true(listing_entry(t, "/sub", ".", &dot));
    assert_int_equal(dot.perm & 07777, sub_sb.st_mode & 07777);
    tc_free(t);
}

/* ---- copy-data and READ --------------------------------------------------------------------- */

static void test_copy_data_bounds(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    tc_put_file(t->root, "f", "0123456789");
    char buf[64];
    /* two handles on one file: overlapping ranges refused, nothing written */
    tc_handle r, w;
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &r), 0);
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE, &w), 0);
    assert_int_equal(tc_copy_data(t, &r, 0, 5, &w, 3), SSH_FX_FAILURE);
    assert_int_equal(tc_copy_data(t, &r, 4, 0, &w, 6), SSH_FX_FAILURE); /* to the end overlaps too */
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 10);
    assert_string_equal(buf, "0123456789");
    /* a hard link is the same file under another name */
    char a[600], b[600];
    host_path(t, "f", a, sizeof a);
    host_path(t, "hl", b, sizeof b);
    assert_int_equal(link(a, b), 0);
    tc_handle hl;
    assert_int_equal(tc_open(t, "hl", SSH_FXF_WRITE, &hl), 0);
    assert_int_equal(tc_copy_data(t, &r, 0, 4, &hl, 2), SSH_FX_FAILURE);
    /* "to the end" onto the end of its own source: the end as it was at the start, once */
    assert_int_equal(tc_copy_data(t, &r, 0, 0, &w, 10), SSH_FX_OK);
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 20);
    assert_string_equal(buf, "01234567890123456789");
    /* a length past the end is the end, too */
    assert_int_equal(tc_copy_data(t, &r, 15, UINT64_MAX, &w, 20), SSH_FX_OK);
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 25);
    assert_string_equal(buf, "0123456789012345678956789");
    /* nothing to copy from past the end */
    assert_int_equal(tc_copy_data(t, &r, 100, 5, &w, 0), SSH_FX_EOF);
    assert_int_equal(tc_copy_data(t, &r, 100, 0, &w, 0), SSH_FX_OK);
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 25);
    assert_int_equal(tc_close(t, &r), 0);
    assert_int_equal(tc_close(t, &w), 0);
    assert_int_equal(tc_close(t, &hl), 0);
    tc_free(t);
}

/* Holes stay holes: a 4 GiB sparse file (free for a client: one SETSTAT) copies at once into a
 * 4 GiB sparse file, where the copy wrote 4 GiB of zeros before (fuzz_engine_local timed out on
 * a copy-file of one). A hole copied over data reads as zeros; data around holes is kept. */
static void test_copy_data_keeps_holes(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    char src[600], dst[600];
    host_path(t, "sparse", src, sizeof src);
    host_path(t, "dst", dst, sizeof dst);
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    const off_t big = (off_t)4 << 30;
    assert_int_equal(pwrite(fd, "head", 4, 0), 4);
    assert_int_equal(pwrite(fd, "middle", 6, (off_t)1 << 30), 6);
    assert_int_equal(ftruncate(fd, big), 0);
    close(fd);
    fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* existing data where the source has a hole */
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XXXXXXXXXXXXXXXX", 16, 100), 16);
    close(fd);
    tc_handle in, out;
    assert_int_equal(tc_open(t, "sparse", SSH_FXF_READ, &in), 0);
    assert_int_equal(tc_open(t, "dst", SSH_FXF_WRITE, &out), 0);
    assert_int_equal(tc_copy_data(t, &in, 0, 0, &out, 0), SSH_FX_OK);
    assert_int_equal(tc_close(t, &in), 0);
    assert_int_equal(tc_close(t, &out), 0);
    struct stat sb;
    assert_int_equal(stat(dst, &sb), 0);
    assert_true(sb.st_size == big);
    if ((off_t)sb.st_blocks * 512 > ((off_t)16 << 20))
        fail_msg("the copy of a sparse file takes %lld bytes of disk", (long long)sb.st_blocks * 512);
    char buf[32];
    fd = open(dst, O_RDONLY);
    assert_int_equal(pread(fd, buf, 4, 0), 4);
    assert_memory_equal(buf, "head", 4);
    assert_int_equal(pread(fd, buf, 16, 100), 16); /* the hole came over the old X's */
    for (int i = 0; i < 16; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(pread(fd, buf, 6, (off_t)1 << 30), 6);
    assert_memory_equal(buf, "middle", 6);
    close(fd);
    tc_free(t);
}

static void test_copy_data_stops_on_drop(void **state)
{
    (void)state;
    atomic_int drop = 0;
    tc *t = tc_new_full(NULL, NULL, 1, NULL, &drop);
    assert_int_equal(tc_init(t, 3), 3);
    tc_put_file(t->root, "src", "data");
    tc_handle in, out;
    assert_int_equal(tc_open(t, "src", SSH_FXF_READ, &in), 0);
    assert_int_equal(tc_open(t, "dst", SSH_FXF_WRITE | SSH_FXF_CREAT, &out), 0);
    atomic_store(&drop, 1); /* a drop_client() or stop() while the request runs */
    assert_int_equal(tc_copy_data(t, &in, 0, 0, &out, 0), SSH_FX_FAILURE);
    char buf[16];
    assert_int_equal(tc_host_read(t->root, "dst", buf, sizeof buf), 0);
    atomic_store(&drop, 0);
    assert_int_equal(tc_copy_data(t, &in, 0, 0, &out, 0), SSH_FX_OK);
    assert_int_equal(tc_host_read(t->root, "dst", buf, sizeof buf), 4);
    tc_free(t);
}

static void test_read_of_zero_bytes_is_empty_data(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 3), 3);
    tc_put_file(t->root, "f", "abc");
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_READ, &h), 0);
    char buf[8];
    size_t got = 99;
    assert_int_equal(tc_read(t, &h, 1, 0, buf, &got), SSH_FX_OK); /* mid-file: DATA, not EOF */
    assert_int_equal(got, 0);
    assert_int_equal(tc_read(t, &h, 1, 5, buf, &got), SSH_FX_OK);
    assert_int_equal(got, 2);
    assert_int_equal(tc_read(t, &h, 3, 5, buf, &got), SSH_FX_EOF);
    assert_int_equal(tc_close(t, &h), 0);
    tc_free(t);
}

/* ---- modes and owners ----------------------------------------------------------------------- */

/* SETSTAT (path) or FSETSTAT (h) with permissions and/or uid/gid (a negative value: not sent). */
static uint32_t set_attrs(tc *t, const char *path, const tc_handle *h, int64_t perm, int64_t uid, int64_t gid)
{
    uint32_t id = tc_begin(t, h ? SSH_FXP_FSETSTAT : SSH_FXP_SETSTAT);
    if (h)
        tc_str(t, h->s, h->len);
    else
        tc_cstr(t, path);
    uint32_t flags = (perm >= 0 ? SSH_FILEXFER_ATTR_PERMISSIONS : 0) | (uid >= 0 ? SSH_FILEXFER_ATTR_UIDGID : 0);
    tc_u32(t, flags);
    if (uid >= 0) {
        tc_u32(t, (uint32_t)uid);
        tc_u32(t, (uint32_t)gid);
    }
    if (perm >= 0)
        tc_u32(t, (uint32_t)perm);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

static mode_t host_mode(const tc *t, const char *rel)
{
    char p[600];
    struct stat sb;
    host_path(t, rel, p, sizeof p);
    assert_int_equal(lstat(p, &sb), 0);
    return sb.st_mode & 07777;
}

static uint32_t open_with_perm(tc *t, const char *path, uint32_t perm, tc_handle *h)
{
    uint32_t id = tc_begin(t, SSH_FXP_OPEN);
    tc_cstr(t, path);
    tc_u32(t, SSH_FXF_WRITE | SSH_FXF_CREAT);
    tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS);
    tc_u32(t, perm);
    assert_int_equal(tc_send(t), 0);
    return tc_handle_reply(t, id, h);
}

static uint32_t mkdir_with_perm(tc *t, const char *path, uint32_t perm)
{
    uint32_t id = tc_begin(t, SSH_FXP_MKDIR);
    tc_cstr(t, path);
    tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS);
    tc_u32(t, perm);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

static void test_special_mode_bits_are_stripped(void **state)
{
    (void)state;
    mode_t old_umask = umask(0);
    sftpkit_server *s = sftpkit_server_new();
    tc *t = ready_banner(s, NULL);
    tc_handle h;
    assert_int_equal(open_with_perm(t, "suid", 04755, &h), 0);
    assert_int_equal(host_mode(t, "suid"), 0755);
    assert_int_equal(set_attrs(t, NULL, &h, 02750, -1, -1), 0);
    assert_int_equal(host_mode(t, "suid"), 0750);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(set_attrs(t, "suid", NULL, 06777, -1, -1), 0);
    assert_int_equal(host_mode(t, "suid"), 0777);
    assert_int_equal(mkdir_with_perm(t, "sticky", 01777), 0);
    assert_int_equal(host_mode(t, "sticky"), 0777);
    tc_free(t);
    /* allowed by config: passed through */
    config(s, "AllowSpecialModeBits=True");
    t = ready_banner(s, NULL);
    assert_int_equal(open_with_perm(t, "suid", 04755, &h), 0);
    assert_int_equal(host_mode(t, "suid"), 04755);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(set_attrs(t, "suid", NULL, 04700, -1, -1), 0);
    assert_int_equal(host_mode(t, "suid"), 04700);
    assert_int_equal(mkdir_with_perm(t, "sticky", 01777), 0);
    assert_int_equal(host_mode(t, "sticky"), 01777);
    tc_free(t);
    sftpkit_server_free(s);
    umask(old_umask);
}

static void test_owner_change_needs_a_setting(void **state)
{
    (void)state;
    sftpkit_server *s = sftpkit_server_new();
    tc *t = ready_banner(s, NULL);
    tc_put_file(t->root, "f", "x");
    char p[600];
    struct stat sb;
    host_path(t, "f", p, sizeof p);
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(stat(p, &sb), 0);
    uid_t uid = sb.st_uid;
    gid_t gid = sb.st_gid;
    /* a new owner: refused, and the mode in the same request is not applied either */
    assert_int_equal(set_attrs(t, "f", NULL, 0600, uid + 1, gid), SSH_FX_PERMISSION_DENIED);
    assert_int_equal(set_attrs(t, "f", NULL, 0600, uid, gid + 1), SSH_FX_PERMISSION_DENIED);
    assert_int_equal(host_mode(t, "f"), 0644);
    tc_handle h;
    assert_int_equal(tc_open(t, "f", SSH_FXF_WRITE, &h), 0);
    assert_int_equal(set_attrs(t, NULL, &h, -1, uid + 1, gid), SSH_FX_PERMISSION_DENIED);
    /* the owner it already has (clients that send back every attribute): fine */
    assert_int_equal(set_attrs(t, NULL, &h, 0640, uid, gid), SSH_FX_OK);
    assert_int_equal(host_mode(t, "f"), 0640);
    assert_int_equal(tc_close(t, &h), 0);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_uid, uid);
    tc_free(t);
    /* allowed by config: the operating system decides */
    config(s, "AllowChangeOwner=True");
    t = ready_banner(s, NULL);
    tc_put_file(t->root, "f", "x");
    host_path(t, "f", p, sizeof p);
    uint32_t st = set_attrs(t, "f", NULL, -1, 12345, 12345);
    assert_int_equal(stat(p, &sb), 0);
    if (geteuid() == 0) {
        assert_int_equal(st, SSH_FX_OK);
        assert_int_equal(sb.st_uid, 12345);
    } else {
        assert_int_equal(st, SSH_FX_PERMISSION_DENIED); /* EPERM from the kernel, not from us */
        assert_int_equal(sb.st_uid, geteuid());
    }
    tc_free(t);
    sftpkit_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symlink_order_table),
        cmocka_unit_test(test_symlink_order_per_connection),
        cmocka_unit_test(test_realpath_follows_links_inside_the_root),
        cmocka_unit_test(test_root_dotdot_is_the_root),
        cmocka_unit_test(test_copy_data_bounds),
        cmocka_unit_test(test_copy_data_keeps_holes),
        cmocka_unit_test(test_copy_data_stops_on_drop),
        cmocka_unit_test(test_read_of_zero_bytes_is_empty_data),
        cmocka_unit_test(test_special_mode_bits_are_stripped),
        cmocka_unit_test(test_owner_change_needs_a_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
