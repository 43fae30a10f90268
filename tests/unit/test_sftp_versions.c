/* SFTP v4..v6 in the engine: negotiation (INIT, "versions", version-select), the v4+ attribute
 * codec, NAME without long names, v5 OPEN dispositions and RENAME flags, the v6 requests and
 * extensions, and malformed v4..v6 packets (answered with the right status, nothing changed).
 * Raw packets, so each test also pins the wire layout of the drafts (-04, -05, -13). */
#include "test_sftp_helpers.h"

#include <errno.h>
#include <sys/stat.h>

/* ---- helpers: v4+ attributes and NAME entries ------------------------------------------------- */

typedef struct {
    uint32_t flags;
    uint8_t type;
    uint64_t size, alloc;
    char owner[64], group[64];
    uint32_t perm;
    int64_t atime, mtime, ctime, crtime;
    uint32_t atime_ns, mtime_ns, ctime_ns;
    uint32_t nlink;
    char untranslated[256];
} v4_attrs;

static void rd_time(tc *t, uint32_t flags, int64_t *s, uint32_t *ns)
{
    *s = (int64_t)sfk_rd_u64(&t->rd);
    if (flags & SSH_FILEXFER_ATTR_SUBSECOND_TIMES)
        *ns = sfk_rd_u32(&t->rd);
}

/* Reads v4..v6 attributes from the reply as the drafts lay them out. */
static void rd_v4_attrs(tc *t, int version, v4_attrs *a)
{
    memset(a, 0, sizeof *a);
    uint32_t f = a->flags = sfk_rd_u32(&t->rd);
    a->type = sfk_rd_u8(&t->rd);
    if (f & SSH_FILEXFER_ATTR_SIZE)
        a->size = sfk_rd_u64(&t->rd);
    if (version >= 6 && (f & SSH_FILEXFER_ATTR_ALLOCATION_SIZE))
        a->alloc = sfk_rd_u64(&t->rd);
    if (f & SSH_FILEXFER_ATTR_OWNERGROUP) {
        tc_rd_cstr(t, a->owner, sizeof a->owner);
        tc_rd_cstr(t, a->group, sizeof a->group);
    }
    if (f & SSH_FILEXFER_ATTR_PERMISSIONS)
        a->perm = sfk_rd_u32(&t->rd);
    uint32_t dummy;
    if (f & SSH_FILEXFER_ATTR_ACCESSTIME)
        rd_time(t, f, &a->atime, &a->atime_ns);
    if (f & SSH_FILEXFER_ATTR_CREATETIME)
        rd_time(t, f, &a->crtime, &dummy);
    if (f & SSH_FILEXFER_ATTR_MODIFYTIME)
        rd_time(t, f, &a->mtime, &a->mtime_ns);
    if (version >= 6 && (f & SSH_FILEXFER_ATTR_CTIME))
        rd_time(t, f, &a->ctime, &a->ctime_ns);
    if (f & SSH_FILEXFER_ATTR_ACL) {
        size_t len;
        const uint8_t *acl = sfk_rd_str(&t->rd, &len);
        assert_int_equal(len, version >= 6 ? 8 : 4); /* empty: (flags,) ace-count 0 */
        for (size_t i = 0; i < len; i++)
            assert_int_equal(acl[i], 0);
    }
    if (version >= 5 && (f & SSH_FILEXFER_ATTR_BITS)) {
        sfk_rd_u32(&t->rd);
        if (version >= 6)
            sfk_rd_u32(&t->rd);
    }
    if (version >= 6 && (f & SSH_FILEXFER_ATTR_LINK_COUNT))
        a->nlink = sfk_rd_u32(&t->rd);
    if (version >= 6 && (f & SSH_FILEXFER_ATTR_UNTRANSLATED_NAME))
        tc_rd_cstr(t, a->untranslated, sizeof a->untranslated);
    assert_false(t->rd.bad);
}

static uint32_t stat_v4(tc *t, int version, const char *path, uint32_t want, v4_attrs *a)
{
    uint32_t id = tc_begin(t, SSH_FXP_STAT);
    tc_cstr(t, path);
    tc_u32(t, want);
    assert_int_equal(tc_send(t), 0);
    uint8_t type = tc_next(t);
    assert_int_equal(t->id, id);
    if (type == SSH_FXP_STATUS)
        return sfk_rd_u32(&t->rd);
    assert_int_equal(type, SSH_FXP_ATTRS);
    rd_v4_attrs(t, version, a);
    assert_int_equal(t->rd.left, 0);
    return 0;
}

/* v5+ OPEN: returns the status (0 and the handle on success). */
static uint32_t open_v5(tc *t, const char *path, uint32_t access, uint32_t flags, tc_handle *h)
{
    uint32_t id = tc_begin(t, SSH_FXP_OPEN);
    tc_cstr(t, path);
    tc_u32(t, access);
    tc_u32(t, flags);
    tc_u32(t, 0);          /* attribute flags */
    sfk_wr_u8(&t->req, 1); /* type: regular */
    assert_int_equal(tc_send(t), 0);
    return tc_handle_reply(t, id, h);
}

static uint32_t status_of(tc *t, uint32_t id)
{
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(t->id, id);
    return sfk_rd_u32(&t->rd);
}

/* The VERSION reply's extension data for name (NULL when absent); copies it into buf. */
static const char *version_ext(tc *t, const char *name, char *buf, size_t cap, size_t *len_out)
{
    sfk_rd rd = t->rd;
    const char *found = NULL;
    while (rd.left && !rd.bad) {
        size_t nlen, dlen;
        const uint8_t *n = sfk_rd_str(&rd, &nlen);
        const uint8_t *d = sfk_rd_str(&rd, &dlen);
        if (nlen == strlen(name) && !memcmp(n, name, nlen) && dlen < cap) {
            memcpy(buf, d, dlen);
            buf[dlen] = '\0';
            if (len_out)
                *len_out = dlen;
            found = buf;
        }
    }
    assert_false(rd.bad);
    return found;
}

static tc *new_at(int version)
{
    tc *t = tc_new();
    assert_int_equal(tc_init(t, (uint32_t)version), version);
    return t;
}

/* ---- negotiation ---------------------------------------------------------------------------- */

static void test_each_version_is_negotiated(void **state)
{
    (void)state;
    for (int v = 0; v <= 6; v++) {
        tc *t = tc_new();
        assert_int_equal(tc_init(t, (uint32_t)v), v);
        tc_free(t);
    }
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 1000), 6); /* a newer client: our highest */
    tc_free(t);
}

static void test_v3_version_lists_the_others_and_their_extensions(void **state)
{
    (void)state;
    tc *t = new_at(3);
    char buf[2048];
    size_t len = 0;
    assert_non_null(version_ext(t, "versions", buf, sizeof buf, NULL));
    assert_string_equal(buf, "3,4,5,6");
    /* nothing binary in a v3 VERSION */
    assert_null(version_ext(t, "supported2", buf, sizeof buf, NULL));
    assert_null(version_ext(t, "vendor-id", buf, sizeof buf, NULL));
    tc_free(t);
    t = new_at(5);
    assert_non_null(version_ext(t, "supported", buf, sizeof buf, NULL));
    assert_null(version_ext(t, "supported2", buf, sizeof buf, NULL));
    tc_free(t);

    t = new_at(6);
    assert_non_null(version_ext(t, "newline", buf, sizeof buf, NULL));
    assert_string_equal(buf, "\n");
    assert_non_null(version_ext(t, "vendor-id", buf, sizeof buf, &len));
    sfk_rd rd = sfk_rd_init((const uint8_t *)buf, len);
    size_t n;
    const uint8_t *vendor = sfk_rd_str(&rd, &n);
    assert_int_equal(n, 7);
    assert_memory_equal(vendor, "sftpkit", 7);
    sfk_rd_str(&rd, &n);
    sfk_rd_str(&rd, &n);
    sfk_rd_u64(&rd);
    assert_false(rd.bad);
    assert_int_equal(rd.left, 0);
    /* supported2: masks, max-read-size, the two block vectors, then counted name lists */
    assert_non_null(version_ext(t, "supported2", buf, sizeof buf, &len));
    rd = sfk_rd_init((const uint8_t *)buf, len);
    uint32_t attr_mask = sfk_rd_u32(&rd);
    assert_true(attr_mask & SSH_FILEXFER_ATTR_OWNERGROUP);
    assert_false(attr_mask & SSH_FILEXFER_ATTR_ACL);
    sfk_rd_u32(&rd);
    uint32_t open_flags = sfk_rd_u32(&rd);
    assert_true(open_flags & SSH_FXF_APPEND_DATA);
    assert_true(open_flags & SSH_FXF_BLOCK_ADVISORY);
    assert_false(open_flags & SSH_FXF_DELETE_ON_CLOSE);
    sfk_rd_u32(&rd);
    assert_int_equal(sfk_rd_u32(&rd), 256u * 1024u - 1024u);
    /* open-block-vector: no lock, and every BLOCK combination with BLOCK_ADVISORY (what OPEN
     * keeps: test_v6_open_locks); block-vector: every mask */
    assert_int_equal(sfk_rd_u8(&rd) << 8 | sfk_rd_u8(&rd), 0xff01);
    assert_int_equal(sfk_rd_u8(&rd) << 8 | sfk_rd_u8(&rd), 0xffff);
    assert_int_equal(sfk_rd_u32(&rd), 0);
    uint32_t next = sfk_rd_u32(&rd);
    int saw_check = 0;
    for (uint32_t i = 0; i < next; i++) {
        const uint8_t *s = sfk_rd_str(&rd, &n);
        saw_check |= n == 17 && !memcmp(s, "check-file-handle", 17);
    }
    assert_false(rd.bad);
    assert_int_equal(rd.left, 0);
    assert_true(saw_check);
    tc_free(t);

    /* max_sftp_version 3: the VERSION reply is the plain v3 one */
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 3), 0);
    t = tc_new_with(s, NULL, 3);
    assert_int_equal(tc_init(t, 6), 3);
    assert_null(version_ext(t, "versions", buf, sizeof buf, NULL));
    assert_null(version_ext(t, "supported2", buf, sizeof buf, NULL));
    tc_free(t);
    sftpkit_server_free(s);
}

static uint32_t version_select(tc *t, const char *v)
{
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "version-select");
    tc_cstr(t, v);
    return id;
}

static void test_version_select_switches_as_the_first_request(void **state)
{
    (void)state;
    tc *t = new_at(3);
    tc_put_file(t->root, "f", "hello");
    uint32_t id = version_select(t, "6");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_OK);
    v4_attrs a;
    assert_int_equal(stat_v4(t, 6, "/f", 0, &a), 0); /* v6 layout from now on */
    assert_int_equal(a.type, SSH_FILEXFER_TYPE_REGULAR);
    assert_int_equal(a.size, 5);
    tc_free(t);
}

static void test_version_select_refused_closes_the_session(void **state)
{
    (void)state;
    /* not offered */
    tc *t = new_at(3);
    uint32_t id = version_select(t, "7");
    assert_int_equal(tc_send(t), -1);
    assert_int_equal(status_of(t, id), SSH_FX_FAILURE); /* INVALID_PARAMETER as v3 knows it */
    assert_non_null(strstr(sftpkit_last_error_message(), "version-select"));
    tc_free(t);
    /* not the first request */
    t = new_at(3);
    assert_int_equal(tc_path_status(t, SSH_FXP_REMOVE, "/missing"), SSH_FX_NO_SUCH_FILE);
    id = version_select(t, "4");
    assert_int_equal(tc_send(t), -1);
    assert_int_equal(status_of(t, id), SSH_FX_FAILURE);
    tc_free(t);
    /* a below-range choice with min_sftp_version 4 */
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_min_sftp_version(s, 3), 0);
    assert_int_equal(sftpkit_server_set_max_sftp_version(s, 4), 0);
    t = tc_new_with(s, NULL, 3);
    assert_int_equal(tc_init(t, 3), 3);
    id = version_select(t, "5");
    assert_int_equal(tc_send(t), -1);
    tc_free(t);
    sftpkit_server_free(s);
}

/* ---- filename-charset and filename-translation-control (draft -13 section 6) ------------------ */

/* One READDIR of "/" into names[]/attrs (at most cap entries); returns how many. */
static int list_root(tc *t, int version, char names[][256], v4_attrs *attrs, int cap)
{
    tc_handle h;
    assert_int_equal(tc_opendir(t, "/", &h), 0);
    int n = 0;
    for (;;) {
        uint32_t id = tc_handle_req(t, SSH_FXP_READDIR, &h);
        uint8_t type = tc_next(t);
        assert_int_equal(t->id, id);
        if (type == SSH_FXP_STATUS)
            break;
        assert_int_equal(type, SSH_FXP_NAME);
        uint32_t count = sfk_rd_u32(&t->rd);
        for (uint32_t i = 0; i < count && n < cap; i++, n++) {
            tc_rd_cstr(t, names[n], 256);
            rd_v4_attrs(t, version, &attrs[n]);
        }
    }
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    return n;
}

static int find_name(char names[][256], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

static void test_v6_filename_translation(void **state)
{
    (void)state;
    tc *t = tc_new();
    assert_int_equal(tc_init(t, 6), 6);
    char buf[64];
    assert_non_null(version_ext(t, "filename-charset", buf, sizeof buf, NULL));
    assert_string_equal(buf, "UTF-8");
    tc_put_file(t->root, "caf\xe9", "latin1"); /* not UTF-8 on disk */
    char names[16][256];
    v4_attrs at[16];
    /* translated (the default): shown converted, with the bytes on disk as untranslated-name;
     * the raw name is not a valid v6 file name */
    int n = list_root(t, 6, names, at, 16);
    int i = find_name(names, n, "caf\xc3\xa9");
    assert_true(i >= 0);
    assert_true(at[i].flags & SSH_FILEXFER_ATTR_UNTRANSLATED_NAME);
    assert_string_equal(at[i].untranslated, "caf\xe9");
    tc_handle h;
    assert_int_equal(tc_open(t, "/caf\xe9", SSH_FXF_READ, &h), SSH_FX_INVALID_FILENAME);
    /* translation off: the bytes as on disk, both ways */
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "filename-translation-control");
    sfk_wr_u8(&t->req, 0);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_OK);
    n = list_root(t, 6, names, at, 16);
    i = find_name(names, n, "caf\xe9");
    assert_true(i >= 0);
    assert_false(at[i].flags & SSH_FILEXFER_ATTR_UNTRANSLATED_NAME);
    assert_int_equal(open_v5(t, "/caf\xe9", ACE4_READ_DATA, SSH_FXF_OPEN_EXISTING, &h), 0);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    /* and back on; a truncated request is malformed */
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "filename-translation-control");
    sfk_wr_u8(&t->req, 1);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_OK);
    assert_int_equal(open_v5(t, "/caf\xe9", ACE4_READ_DATA, SSH_FXF_OPEN_EXISTING, &h), SSH_FX_INVALID_FILENAME);
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "filename-translation-control");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_BAD_MESSAGE);
    tc_free(t);

    /* v3 has no filename-charset: the request is not one it knows */
    t = new_at(3);
    assert_null(version_ext(t, "filename-charset", buf, sizeof buf, NULL));
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "filename-translation-control");
    sfk_wr_u8(&t->req, 0);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_OP_UNSUPPORTED);
    tc_free(t);
}

/* ---- v4 attributes and names ------------------------------------------------------------------ */

static void test_v4_attributes_layout(void **state)
{
    (void)state;
    for (int v = 4; v <= 6; v++) {
        tc *t = new_at(v);
        tc_put_file(t->root, "f", "12345678");
        struct stat sb;
        char p[300];
        snprintf(p, sizeof p, "%s/f", t->root);
        assert_int_equal(stat(p, &sb), 0);
        v4_attrs a;
        assert_int_equal(stat_v4(t, v, "/f", 0, &a), 0);
        assert_int_equal(a.type, SSH_FILEXFER_TYPE_REGULAR);
        assert_int_equal(a.size, 8);
        assert_int_equal(a.perm, sb.st_mode); /* the type bits too, as gesftpserver sends them */
        assert_true(a.owner[0] && a.group[0]);
        assert_int_equal(a.mtime, sb.st_mtime);
        assert_int_equal(a.mtime_ns, sb.st_mtim.tv_nsec);
        assert_int_equal(a.atime, sb.st_atime);
        assert_int_equal(!!(a.flags & SSH_FILEXFER_ATTR_CTIME), v >= 6);
        if (v >= 6) {
            assert_int_equal(a.ctime, sb.st_ctime);
            assert_int_equal(a.nlink, 1);
            /* allocation-size only when asked for (lftp and phpseclib misread it) */
            assert_false(a.flags & SSH_FILEXFER_ATTR_ALLOCATION_SIZE);
            assert_false(a.flags & SSH_FILEXFER_ATTR_UNTRANSLATED_NAME); /* only for converted names */
            v4_attrs b;
            assert_int_equal(stat_v4(t, v, "/f", SSH_FILEXFER_ATTR_ALLOCATION_SIZE, &b), 0);
            assert_true(b.flags & SSH_FILEXFER_ATTR_ALLOCATION_SIZE);
            assert_int_equal(b.alloc, (uint64_t)sb.st_blocks * 512u);
            assert_int_equal(b.size, 8);
        }
        assert_int_equal(stat_v4(t, v, "/", 0, &a), 0);
        assert_int_equal(a.type, SSH_FILEXFER_TYPE_DIRECTORY);
        /* asking for the ACL: an empty one (rd_v4_attrs checks it) */
        assert_int_equal(stat_v4(t, v, "/f", SSH_FILEXFER_ATTR_ACL, &a), 0);
        assert_true(a.flags & SSH_FILEXFER_ATTR_ACL);
        tc_free(t);
    }
}

static void test_v4_names_have_no_long_name(void **state)
{
    (void)state;
    tc *t = new_at(4);
    tc_put_file(t->root, "only", "x");
    tc_handle h;
    assert_int_equal(tc_opendir(t, "/", &h), 0);
    int seen = 0;
    for (;;) {
        uint32_t id = tc_handle_req(t, SSH_FXP_READDIR, &h);
        uint8_t type = tc_next(t);
        assert_int_equal(t->id, id);
        if (type == SSH_FXP_STATUS) {
            assert_int_equal(sfk_rd_u32(&t->rd), SSH_FX_EOF);
            break;
        }
        assert_int_equal(type, SSH_FXP_NAME);
        uint32_t n = sfk_rd_u32(&t->rd);
        for (uint32_t i = 0; i < n; i++) {
            char name[256];
            tc_rd_cstr(t, name, sizeof name);
            v4_attrs a;
            rd_v4_attrs(t, 4, &a); /* straight after the name: no long name */
            if (!strcmp(name, "only")) {
                seen++;
                assert_int_equal(a.type, SSH_FILEXFER_TYPE_REGULAR);
                assert_int_equal(a.size, 1);
            }
        }
        assert_int_equal(t->rd.left, 0);
    }
    assert_int_equal(seen, 1);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    /* REALPATH: one name, then attributes */
    uint32_t id = tc_send_path(t, SSH_FXP_REALPATH, "/./only");
    assert_int_equal(tc_next(t), SSH_FXP_NAME);
    assert_int_equal(t->id, id);
    assert_int_equal(sfk_rd_u32(&t->rd), 1);
    char name[256];
    tc_rd_cstr(t, name, sizeof name);
    assert_string_equal(name, "/only");
    v4_attrs a;
    rd_v4_attrs(t, 4, &a);
    assert_int_equal(t->rd.left, 0);
    tc_free(t);
}

/* SETSTAT with v4 attributes built by hand. */
static uint32_t setstat_v4(tc *t, const char *path, void (*body)(tc *t))
{
    uint32_t id = tc_begin(t, SSH_FXP_SETSTAT);
    tc_cstr(t, path);
    body(t);
    assert_int_equal(tc_send(t), 0);
    return status_of(t, id);
}

static void set_mtime_only(tc *t)
{
    tc_u32(t, SSH_FILEXFER_ATTR_MODIFYTIME | SSH_FILEXFER_ATTR_SUBSECOND_TIMES);
    sfk_wr_u8(&t->req, SSH_FILEXFER_TYPE_REGULAR);
    tc_u64(t, 1000000000);
    tc_u32(t, 123456789);
}

static void set_unknown_owner(tc *t)
{
    tc_u32(t, SSH_FILEXFER_ATTR_OWNERGROUP);
    sfk_wr_u8(&t->req, SSH_FILEXFER_TYPE_REGULAR);
    tc_cstr(t, "no-such-user-sfk");
    tc_cstr(t, "root");
}

static void set_acl(tc *t)
{
    tc_u32(t, SSH_FILEXFER_ATTR_ACL);
    sfk_wr_u8(&t->req, SSH_FILEXFER_TYPE_REGULAR);
    tc_str(t, "\0\0\0\0", 4);
}

static void set_bad_nanoseconds(tc *t)
{
    tc_u32(t, SSH_FILEXFER_ATTR_MODIFYTIME | SSH_FILEXFER_ATTR_SUBSECOND_TIMES);
    sfk_wr_u8(&t->req, SSH_FILEXFER_TYPE_REGULAR);
    tc_u64(t, 1000000000);
    tc_u32(t, 1000000000); /* one past the last nanosecond */
}

static void set_truncated(tc *t)
{
    tc_u32(t, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_OWNERGROUP);
    sfk_wr_u8(&t->req, SSH_FILEXFER_TYPE_REGULAR);
    tc_u64(t, 0);
    tc_u32(t, 1000); /* an owner string longer than the packet */
}

static void set_long_owner(tc *t)
{
    char name[200];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    tc_u32(t, SSH_FILEXFER_ATTR_OWNERGROUP);
    sfk_wr_u8(&t->req, SSH_FILEXFER_TYPE_REGULAR);
    tc_cstr(t, name);
    tc_cstr(t, "g");
}

static void test_v4_setstat(void **state)
{
    (void)state;
    tc *t = new_at(4);
    tc_put_file(t->root, "f", "x");
    char p[300];
    snprintf(p, sizeof p, "%s/f", t->root);
    struct stat before, after;
    assert_int_equal(stat(p, &before), 0);
    assert_int_equal(setstat_v4(t, "/f", set_mtime_only), SSH_FX_OK);
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(after.st_mtime, 1000000000);
    assert_int_equal(after.st_mtim.tv_nsec, 123456789);
    assert_int_equal(after.st_atime, before.st_atime); /* not sent: left alone */
    /* unknown owner: OWNER_INVALID is v6's; v4 hears FAILURE; nothing changes */
    assert_int_equal(setstat_v4(t, "/f", set_unknown_owner), SSH_FX_FAILURE);
    assert_int_equal(setstat_v4(t, "/f", set_acl), SSH_FX_OP_UNSUPPORTED);
    assert_int_equal(setstat_v4(t, "/f", set_bad_nanoseconds), SSH_FX_BAD_MESSAGE);
    assert_int_equal(setstat_v4(t, "/f", set_truncated), SSH_FX_BAD_MESSAGE);
    assert_int_equal(setstat_v4(t, "/f", set_long_owner), SSH_FX_BAD_MESSAGE);
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(after.st_mtime, 1000000000);
    assert_int_equal(after.st_size, 1);
    tc_free(t);
    t = new_at(6);
    tc_put_file(t->root, "f", "x");
    assert_int_equal(setstat_v4(t, "/f", set_unknown_owner), SSH_FX_OWNER_INVALID);
    tc_free(t);
}

/* ---- v5 OPEN and RENAME ---------------------------------------------------------------------- */

static void test_v5_open_dispositions(void **state)
{
    (void)state;
    tc *t = new_at(5);
    tc_handle h;
    const uint32_t rw = ACE4_READ_DATA | ACE4_WRITE_DATA;
    /* OPEN_EXISTING and TRUNCATE_EXISTING need the file */
    assert_int_equal(open_v5(t, "/n", rw, SSH_FXF_OPEN_EXISTING, &h), SSH_FX_NO_SUCH_FILE);
    assert_int_equal(open_v5(t, "/n", rw, SSH_FXF_TRUNCATE_EXISTING, &h), SSH_FX_NO_SUCH_FILE);
    assert_false(tc_host_exists(t->root, "n"));
    /* CREATE_NEW creates, and fails once it exists */
    assert_int_equal(open_v5(t, "/n", rw, SSH_FXF_CREATE_NEW, &h), 0);
    assert_int_equal(tc_write(t, &h, 0, "abcdef", 6), SSH_FX_OK);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    assert_int_equal(open_v5(t, "/n", rw, SSH_FXF_CREATE_NEW, &h), SSH_FX_FILE_ALREADY_EXISTS);
    /* OPEN_OR_CREATE keeps the content; APPEND_DATA writes at the end whatever the offset */
    assert_int_equal(open_v5(t, "/n", ACE4_WRITE_DATA, SSH_FXF_OPEN_OR_CREATE | SSH_FXF_APPEND_DATA, &h), 0);
    assert_int_equal(tc_write(t, &h, 0, "XY", 2), SSH_FX_OK);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    char buf[64];
    assert_int_equal(tc_host_read(t->root, "n", buf, sizeof buf), 8);
    assert_memory_equal(buf, "abcdefXY", 8);
    /* read access only: writes refused */
    assert_int_equal(open_v5(t, "/n", ACE4_READ_DATA, SSH_FXF_OPEN_EXISTING, &h), 0);
    assert_int_equal(tc_write(t, &h, 0, "Z", 1), SSH_FX_PERMISSION_DENIED);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    /* CREATE_TRUNCATE and TRUNCATE_EXISTING empty it */
    assert_int_equal(open_v5(t, "/n", rw, SSH_FXF_TRUNCATE_EXISTING, &h), 0);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    assert_int_equal(tc_host_read(t->root, "n", buf, sizeof buf), 0);
    tc_put_file(t->root, "n", "again");
    assert_int_equal(open_v5(t, "/n", rw, SSH_FXF_CREATE_TRUNCATE | SSH_FXF_TEXT_MODE, &h), 0);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    assert_int_equal(tc_host_read(t->root, "n", buf, sizeof buf), 0);
    /* what cannot be honoured is refused, not ignored; an unknown disposition is malformed */
    assert_int_equal(open_v5(t, "/d", rw, SSH_FXF_CREATE_NEW | SSH_FXF_DELETE_ON_CLOSE, &h), SSH_FX_OP_UNSUPPORTED);
    assert_int_equal(open_v5(t, "/d", rw, SSH_FXF_CREATE_NEW | SSH_FXF_BLOCK_READ, &h), SSH_FX_OP_UNSUPPORTED);
    assert_int_equal(open_v5(t, "/d", rw, 5, &h), SSH_FX_FAILURE); /* INVALID_PARAMETER is v6's */
    assert_false(tc_host_exists(t->root, "d"));
    /* NOFOLLOW: a symlink as the last component fails */
    char link[300];
    snprintf(link, sizeof link, "%s/l", t->root);
    assert_int_equal(symlink("n", link), 0);
    assert_int_equal(open_v5(t, "/l", ACE4_READ_DATA, SSH_FXF_OPEN_EXISTING, &h), 0);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    assert_int_not_equal(open_v5(t, "/l", ACE4_READ_DATA, SSH_FXF_OPEN_EXISTING | SSH_FXF_NOFOLLOW, &h), 0);
    tc_free(t);
}

/* phpseclib 3.0's v5+ OPEN: desired-access 0 and attributes that are only the flags (0), no type
 * byte. Accepted as "what the disposition implies"; a shortened attribute block that does carry
 * flags stays malformed. */
static void test_v5_open_as_phpseclib_sends_it(void **state)
{
    (void)state;
    tc *t = new_at(6);
    uint32_t id = tc_begin(t, SSH_FXP_OPEN);
    tc_cstr(t, "/p");
    tc_u32(t, 0);
    tc_u32(t, SSH_FXF_CREATE_TRUNCATE);
    tc_u32(t, 0); /* attribute flags, and the packet ends */
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_HANDLE);
    assert_int_equal(t->id, id);
    tc_handle h;
    h.len = tc_rd_cstr(t, h.s, sizeof h.s);
    assert_int_equal(tc_write(t, &h, 0, "php", 3), SSH_FX_OK);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    char buf[8];
    assert_int_equal(tc_host_read(t->root, "p", buf, sizeof buf), 3);
    /* OPEN_EXISTING with access 0: reading only */
    id = tc_begin(t, SSH_FXP_OPEN);
    tc_cstr(t, "/p");
    tc_u32(t, 0);
    tc_u32(t, SSH_FXF_OPEN_EXISTING);
    tc_u32(t, 0);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_HANDLE);
    h.len = tc_rd_cstr(t, h.s, sizeof h.s);
    assert_int_equal(tc_write(t, &h, 0, "x", 1), SSH_FX_PERMISSION_DENIED);
    size_t got = 0;
    assert_int_equal(tc_read(t, &h, 0, 8, buf, &got), SSH_FX_OK);
    assert_int_equal(got, 3);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);
    /* flags that announce a field, without the type byte: malformed */
    id = tc_begin(t, SSH_FXP_OPEN);
    tc_cstr(t, "/q");
    tc_u32(t, ACE4_WRITE_DATA);
    tc_u32(t, SSH_FXF_CREATE_NEW);
    tc_u32(t, SSH_FILEXFER_ATTR_PERMISSIONS);
    tc_u32(t, 0600);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_BAD_MESSAGE);
    assert_false(tc_host_exists(t->root, "q"));
    /* STAT without its v4+ flags field (phpseclib's chmod): the flags are only a hint */
    id = tc_send_path(t, SSH_FXP_STAT, "/p");
    assert_int_equal(tc_next(t), SSH_FXP_ATTRS);
    assert_int_equal(t->id, id);
    v4_attrs a;
    rd_v4_attrs(t, 6, &a);
    assert_int_equal(a.size, 3);
    tc_free(t);
}

static uint32_t rename_v5(tc *t, const char *a, const char *b, uint32_t flags)
{
    uint32_t id = tc_begin(t, SSH_FXP_RENAME);
    tc_cstr(t, a);
    tc_cstr(t, b);
    tc_u32(t, flags);
    assert_int_equal(tc_send(t), 0);
    return status_of(t, id);
}

static void test_v5_rename_flags(void **state)
{
    (void)state;
    tc *t = new_at(5);
    tc_put_file(t->root, "a", "A");
    tc_put_file(t->root, "b", "B");
    char buf[8];
    assert_int_equal(rename_v5(t, "/a", "/b", 0), SSH_FX_FILE_ALREADY_EXISTS);
    assert_int_equal(rename_v5(t, "/a", "/b", SSH_FXF_RENAME_ATOMIC), SSH_FX_FILE_ALREADY_EXISTS);
    assert_int_equal(tc_host_read(t->root, "b", buf, sizeof buf), 1);
    assert_int_equal(buf[0], 'B');
    assert_int_equal(rename_v5(t, "/a", "/b", SSH_FXF_RENAME_OVERWRITE | SSH_FXF_RENAME_ATOMIC), SSH_FX_OK);
    assert_int_equal(tc_host_read(t->root, "b", buf, sizeof buf), 1);
    assert_int_equal(buf[0], 'A');
    assert_false(tc_host_exists(t->root, "a"));
    assert_int_equal(rename_v5(t, "/b", "/c", SSH_FXF_RENAME_NATIVE), SSH_FX_OK);
    assert_int_equal(rename_v5(t, "/c", "/d", 0x80), SSH_FX_FAILURE); /* unknown flag */
    assert_true(tc_host_exists(t->root, "c"));
    /* the v5 RENAME without its flags field is truncated */
    assert_int_equal(tc_two_paths(t, SSH_FXP_RENAME, NULL, "/c", "/e"), SSH_FX_BAD_MESSAGE);
    tc_free(t);
}

/* ---- v6 requests ----------------------------------------------------------------------------- */

/* LINK (new-link-path, existing-path, bool): the draft's order whatever the connection's SYMLINK
 * order is (the banner decides that one; both banners must read LINK the same way). */
static uint32_t link_v6_as(tc *t, int draft, const char *newpath, const char *existing, int sym)
{
    (void)draft;
    uint32_t id = tc_begin(t, SSH_FXP_LINK);
    tc_cstr(t, newpath);
    tc_cstr(t, existing);
    sfk_wr_u8(&t->req, (uint8_t)sym);
    assert_int_equal(tc_send(t), 0);
    return status_of(t, id);
}

#define RUBY_BANNER "SSH-2.0-Ruby/Net::SSH_7.0.1 x86_64-linux"

static void test_v6_link(void **state)
{
    (void)state;
    for (int draft = 0; draft < 2; draft++) {
        tc *t = tc_new_full(NULL, NULL, 1, draft ? RUBY_BANNER : "SSH-2.0-OpenSSH_9.2p1", NULL);
        assert_int_equal(tc_init(t, 6), 6);
        tc_put_file(t->root, "f", "data");
        assert_int_equal(link_v6_as(t, draft, "/s", "f", 1), SSH_FX_OK);
        char p[300], target[64];
        snprintf(p, sizeof p, "%s/s", t->root);
        ssize_t n = readlink(p, target, sizeof target - 1);
        assert_int_equal(n, 1);
        assert_int_equal(target[0], 'f');
        assert_int_equal(link_v6_as(t, draft, "/h", "/f", 0), SSH_FX_OK);
        struct stat a, b;
        snprintf(p, sizeof p, "%s/h", t->root);
        assert_int_equal(stat(p, &a), 0);
        snprintf(p, sizeof p, "%s/f", t->root);
        assert_int_equal(stat(p, &b), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(link_v6_as(t, draft, "/h", "/f", 0), SSH_FX_FILE_ALREADY_EXISTS);
        /* a hard link to a path outside the root cannot name it */
        assert_int_not_equal(link_v6_as(t, draft, "/h2", "/../outside/x", 0), SSH_FX_OK);
        assert_false(tc_host_exists(t->root, "h2"));
        /* truncated: no bool */
        uint32_t id = tc_begin(t, SSH_FXP_LINK);
        tc_cstr(t, "/x");
        tc_cstr(t, "f");
        assert_int_equal(tc_send(t), 0);
        assert_int_equal(status_of(t, id), SSH_FX_BAD_MESSAGE);
        assert_false(tc_host_exists(t->root, "x"));
        tc_free(t);
    }

    /* LINK is v6's: a v5 session does not have it */
    tc *t = new_at(5);
    tc_put_file(t->root, "f", "data");
    assert_int_equal(link_v6_as(t, 0, "/s", "f", 1), SSH_FX_OP_UNSUPPORTED);
    tc_free(t);

    /* read_only refuses it */
    sftpkit_server *s = sftpkit_server_new();
    assert_int_equal(sftpkit_server_set_read_only(s, 1), 0);
    t = tc_new_with(s, NULL, 4);
    assert_int_equal(tc_init(t, 6), 6);
    tc_put_file(t->root, "f", "data");
    assert_int_equal(link_v6_as(t, 0, "/s", "f", 1), SSH_FX_WRITE_PROTECT);
    assert_int_equal(link_v6_as(t, 0, "/h", "/f", 0), SSH_FX_WRITE_PROTECT);
    assert_false(tc_host_exists(t->root, "s"));
    tc_free(t);
    sftpkit_server_free(s);
}

static uint32_t block(tc *t, const tc_handle *h, uint64_t off, uint64_t len, uint32_t mask, int unblock)
{
    uint32_t id = tc_begin(t, unblock ? SSH_FXP_UNBLOCK : SSH_FXP_BLOCK);
    tc_str(t, h->s, h->len);
    tc_u64(t, off);
    tc_u64(t, len);
    if (!unblock)
        tc_u32(t, mask);
    assert_int_equal(tc_send(t), 0);
    return status_of(t, id);
}

static void test_v6_block_unblock(void **state)
{
    (void)state;
    tc *t = new_at(6);
    tc_put_file(t->root, "f", "0123456789");
    tc_handle a, b;
    const uint32_t rw = ACE4_READ_DATA | ACE4_WRITE_DATA;
    assert_int_equal(open_v5(t, "/f", rw, SSH_FXF_OPEN_EXISTING, &a), 0);
    assert_int_equal(open_v5(t, "/f", rw, SSH_FXF_OPEN_EXISTING, &b), 0);
    assert_int_equal(block(t, &a, 0, 5, SSH_FXF_BLOCK_READ | SSH_FXF_BLOCK_WRITE, 0), SSH_FX_OK);
    assert_int_equal(block(t, &b, 2, 2, SSH_FXF_BLOCK_WRITE, 0), SSH_FX_BYTE_RANGE_LOCK_CONFLICT);
    assert_int_equal(block(t, &b, 5, 5, SSH_FXF_BLOCK_READ, 0), SSH_FX_OK); /* no overlap */
    /* shared locks coexist */
    assert_int_equal(block(t, &a, 20, 5, SSH_FXF_BLOCK_WRITE, 0), SSH_FX_OK);
    assert_int_equal(block(t, &b, 20, 5, SSH_FXF_BLOCK_DELETE, 0), SSH_FX_OK);
    assert_int_equal(block(t, &b, 0, 5, 0, 1), SSH_FX_NO_MATCHING_BYTE_RANGE_LOCK);
    assert_int_equal(block(t, &a, 0, 5, 0, 1), SSH_FX_OK);
    assert_int_equal(block(t, &a, 0, 5, 0, 1), SSH_FX_NO_MATCHING_BYTE_RANGE_LOCK);
    assert_int_equal(block(t, &b, 2, 2, SSH_FXF_BLOCK_WRITE, 0), SSH_FX_OK); /* free now */
    /* a mask of nothing or unknown bits, and a range past 2^63 */
    assert_int_equal(block(t, &a, 40, 1, 0, 0), SSH_FX_INVALID_PARAMETER);
    assert_int_equal(block(t, &a, 40, 1, 0x1000, 0), SSH_FX_INVALID_PARAMETER);
    assert_int_equal(block(t, &a, UINT64_MAX - 1, 1, SSH_FXF_BLOCK_READ, 0), SSH_FX_INVALID_PARAMETER);
    /* closing a handle releases its locks */
    assert_int_equal(tc_close(t, &b), SSH_FX_OK);
    assert_int_equal(block(t, &a, 5, 5, SSH_FXF_BLOCK_READ, 0), SSH_FX_OK);
    /* the range table of a handle is bounded */
    uint32_t st = SSH_FX_OK;
    int taken = 0;
    for (int i = 0; i < 100 && st == SSH_FX_OK; i++) {
        st = block(t, &a, 1000 + 10 * (uint64_t)i, 1, SSH_FXF_BLOCK_WRITE, 0);
        taken += st == SSH_FX_OK;
    }
    assert_int_equal(st, SSH_FX_BYTE_RANGE_LOCK_REFUSED);
    assert_true(taken < 100);
    assert_int_equal(tc_close(t, &a), SSH_FX_OK);
    /* a closed handle */
    assert_int_equal(block(t, &a, 0, 1, SSH_FXF_BLOCK_READ, 0), SSH_FX_INVALID_HANDLE);
    tc_free(t);
}

/* v6 OPEN with BLOCK_* flags: the advisory form is a lock over the whole file, in the handle's
 * range table (BLOCK conflicts with it, UNBLOCK (0, 0) ends it); a conflicting OPEN changes
 * nothing (no truncation); the mandatory form and an exclusive lock through a read-only handle
 * are refused. */
static void test_v6_open_locks(void **state)
{
    (void)state;
    tc *t = new_at(6);
    tc_put_file(t->root, "f", "hello");
    tc_handle a, b;
    const uint32_t rw = ACE4_READ_DATA | ACE4_WRITE_DATA, adv = SSH_FXF_BLOCK_ADVISORY;
    char buf[16];
    assert_int_equal(open_v5(t, "/f", rw, SSH_FXF_OPEN_EXISTING | SSH_FXF_BLOCK_WRITE, &a), SSH_FX_OP_UNSUPPORTED);
    assert_int_equal(open_v5(t, "/f", rw, SSH_FXF_OPEN_EXISTING | SSH_FXF_BLOCK_WRITE | adv, &a), 0);
    /* a shared lock: another shared one is fine, an exclusive one conflicts */
    assert_int_equal(open_v5(t, "/f", ACE4_READ_DATA, SSH_FXF_OPEN_EXISTING | SSH_FXF_BLOCK_DELETE | adv, &b), 0);
    assert_int_equal(tc_close(t, &b), SSH_FX_OK);
    assert_int_equal(open_v5(t, "/f", rw, SSH_FXF_TRUNCATE_EXISTING | SSH_FXF_BLOCK_READ | adv, &b),
                     SSH_FX_LOCK_CONFLICT);
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 5); /* not truncated */
    assert_int_equal(open_v5(t, "/f", rw, SSH_FXF_OPEN_EXISTING, &b), 0);
    assert_int_equal(block(t, &b, 1, 1, SSH_FXF_BLOCK_READ, 0), SSH_FX_BYTE_RANGE_LOCK_CONFLICT);
    assert_int_equal(block(t, &a, 0, 0, 0, 1), SSH_FX_OK); /* the OPEN's lock, by its range */
    assert_int_equal(block(t, &b, 1, 1, SSH_FXF_BLOCK_READ, 0), SSH_FX_OK);
    assert_int_equal(tc_close(t, &b), SSH_FX_OK);
    assert_int_equal(open_v5(t, "/f", rw, SSH_FXF_TRUNCATE_EXISTING | SSH_FXF_BLOCK_READ | adv, &b), 0);
    assert_int_equal(tc_host_read(t->root, "f", buf, sizeof buf), 0); /* truncated once locked */
    /* the exclusive lock is the handle's: closing it frees the file */
    assert_int_equal(open_v5(t, "/f", rw, SSH_FXF_OPEN_EXISTING | SSH_FXF_BLOCK_WRITE | adv, &a), SSH_FX_LOCK_CONFLICT);
    assert_int_equal(tc_close(t, &a), SSH_FX_OK);
    assert_int_equal(tc_close(t, &b), SSH_FX_OK);
    assert_int_equal(open_v5(t, "/f", ACE4_READ_DATA, SSH_FXF_OPEN_EXISTING | SSH_FXF_BLOCK_READ | adv, &a),
                     SSH_FX_OP_UNSUPPORTED); /* no exclusive lock through a read-only descriptor */
    /* a write-only handle's BLOCK_WRITE: exclusive (no shared lock without read access) */
    assert_int_equal(open_v5(t, "/f", ACE4_WRITE_DATA, SSH_FXF_OPEN_EXISTING | SSH_FXF_BLOCK_WRITE | adv, &a), 0);
    assert_int_equal(tc_close(t, &a), SSH_FX_OK);
    tc_free(t);
}

static uint8_t realpath_v6(tc *t, const char *path, int control, const char *compose1, const char *compose2)
{
    tc_begin(t, SSH_FXP_REALPATH);
    tc_cstr(t, path);
    if (control >= 0)
        sfk_wr_u8(&t->req, (uint8_t)control);
    if (compose1)
        tc_cstr(t, compose1);
    if (compose2)
        tc_cstr(t, compose2);
    assert_int_equal(tc_send(t), 0);
    return tc_next(t);
}

static void test_v6_realpath(void **state)
{
    (void)state;
    tc *t = new_at(6);
    assert_int_equal(mkdir(strcat(strcpy((char[300]){0}, t->root), "/d"), 0755), 0);
    tc_put_file(t->root, "d/f", "abc");
    char name[300];
    v4_attrs a;
    /* compose: relative parts join, an absolute one starts over */
    assert_int_equal(realpath_v6(t, "/d", SSH_FXP_REALPATH_STAT_ALWAYS, "x/..", "f"), SSH_FXP_NAME);
    assert_int_equal(sfk_rd_u32(&t->rd), 1);
    tc_rd_cstr(t, name, sizeof name);
    assert_string_equal(name, "/d/f");
    rd_v4_attrs(t, 6, &a);
    assert_int_equal(a.type, SSH_FILEXFER_TYPE_REGULAR);
    assert_int_equal(a.size, 3);
    assert_int_equal(realpath_v6(t, "/d", SSH_FXP_REALPATH_NO_CHECK, "/elsewhere", NULL), SSH_FXP_NAME);
    sfk_rd_u32(&t->rd);
    tc_rd_cstr(t, name, sizeof name);
    assert_string_equal(name, "/elsewhere");
    rd_v4_attrs(t, 6, &a);
    assert_int_equal(a.flags, 0);
    /* STAT_IF of a missing file: the name without attributes; STAT_ALWAYS: an error */
    assert_int_equal(realpath_v6(t, "/d/missing", SSH_FXP_REALPATH_STAT_IF, NULL, NULL), SSH_FXP_NAME);
    sfk_rd_u32(&t->rd);
    tc_rd_cstr(t, name, sizeof name);
    rd_v4_attrs(t, 6, &a);
    assert_int_equal(a.flags, 0);
    assert_int_equal(realpath_v6(t, "/d/missing", SSH_FXP_REALPATH_STAT_ALWAYS, NULL, NULL), SSH_FXP_STATUS);
    assert_int_equal(sfk_rd_u32(&t->rd), SSH_FX_NO_SUCH_FILE);
    /* no control byte: NO_CHECK; a bad one is refused; the root stays the top */
    assert_int_equal(realpath_v6(t, "/../..", -1, NULL, NULL), SSH_FXP_NAME);
    sfk_rd_u32(&t->rd);
    tc_rd_cstr(t, name, sizeof name);
    assert_string_equal(name, "/");
    assert_int_equal(realpath_v6(t, "/", 9, NULL, NULL), SSH_FXP_STATUS);
    assert_int_equal(sfk_rd_u32(&t->rd), SSH_FX_INVALID_PARAMETER);
    /* a truncated compose path */
    tc_begin(t, SSH_FXP_REALPATH);
    tc_cstr(t, "/");
    sfk_wr_u8(&t->req, SSH_FXP_REALPATH_NO_CHECK);
    tc_u32(t, 50);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_STATUS);
    assert_int_equal(sfk_rd_u32(&t->rd), SSH_FX_BAD_MESSAGE);
    tc_free(t);
}

static void test_v6_check_file(void **state)
{
    (void)state;
    tc *t = new_at(6);
    tc_put_file(t->root, "f", "hello");
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "check-file-name");
    tc_cstr(t, "/f");
    tc_cstr(t, "crc32,md5,sha256");
    tc_u64(t, 0);
    tc_u64(t, 0);
    tc_u32(t, 0);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
    assert_int_equal(t->id, id);
    char s[64];
    tc_rd_cstr(t, s, sizeof s);
    assert_string_equal(s, "check-file");
    tc_rd_cstr(t, s, sizeof s);
    assert_string_equal(s, "md5"); /* the first known one of the client's list */
    static const uint8_t md5_hello[16] = {0x5d, 0x41, 0x40, 0x2a, 0xbc, 0x4b, 0x2a, 0x76,
                                          0xb9, 0x71, 0x9d, 0x91, 0x10, 0x17, 0xc5, 0x92};
    assert_int_equal(t->rd.left, 16);
    assert_memory_equal(t->rd.p, md5_hello, 16);

    /* by handle, sha1 in blocks of 256 over 600 bytes: three hashes */
    char big[601];
    memset(big, 'z', 600);
    big[600] = '\0';
    tc_put_file(t->root, "big", big);
    tc_handle h;
    assert_int_equal(open_v5(t, "/big", ACE4_READ_DATA, SSH_FXF_OPEN_EXISTING, &h), 0);
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "check-file-handle");
    tc_str(t, h.s, h.len);
    tc_cstr(t, "sha1");
    tc_u64(t, 0);
    tc_u64(t, 0);
    tc_u32(t, 256);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
    tc_rd_cstr(t, s, sizeof s);
    tc_rd_cstr(t, s, sizeof s);
    assert_int_equal(t->rd.left, 3 * 20);
    /* unknown algorithms, a block size under 256 */
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "check-file-handle");
    tc_str(t, h.s, h.len);
    tc_cstr(t, "crc32");
    tc_u64(t, 0);
    tc_u64(t, 0);
    tc_u32(t, 0);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_OP_UNSUPPORTED);
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "check-file-handle");
    tc_str(t, h.s, h.len);
    tc_cstr(t, "md5");
    tc_u64(t, 0);
    tc_u64(t, 0);
    tc_u32(t, 100);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_INVALID_PARAMETER);
    assert_int_equal(tc_close(t, &h), SSH_FX_OK);

    /* one request hashes at most 256 MiB: a sparse file of 4 GiB (what a SETSTAT size makes
     * without using the disk) is refused whole, and checked range by range */
    char sparse[300];
    snprintf(sparse, sizeof sparse, "%s/sparse", t->root);
    tc_put_file(t->root, "sparse", "");
    assert_int_equal(truncate(sparse, 4ll << 30), 0);
    const uint64_t ranges[][2] = {{0, 0}, {0, (256u << 20) + 1}, {1ull << 30, 4096}};
    for (int i = 0; i < 3; i++) {
        id = tc_begin(t, SSH_FXP_EXTENDED);
        tc_cstr(t, "check-file-name");
        tc_cstr(t, "/sparse");
        tc_cstr(t, "md5");
        tc_u64(t, ranges[i][0]);
        tc_u64(t, ranges[i][1]);
        tc_u32(t, 0);
        assert_int_equal(tc_send(t), 0);
        if (i < 2) {
            assert_int_equal(status_of(t, id), SSH_FX_INVALID_PARAMETER);
        } else {
            assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
            assert_int_equal(t->id, id);
        }
    }
    tc_free(t);
}

static void test_v6_copy_file_and_space(void **state)
{
    (void)state;
    tc *t = new_at(6);
    tc_put_file(t->root, "src", "payload");
    tc_put_file(t->root, "old", "x");
    uint32_t id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "copy-file");
    tc_cstr(t, "/src");
    tc_cstr(t, "/dst");
    sfk_wr_u8(&t->req, 0);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_OK);
    char buf[32];
    assert_int_equal(tc_host_read(t->root, "dst", buf, sizeof buf), 7);
    assert_memory_equal(buf, "payload", 7);
    /* without overwrite an existing target stays; with it, it is replaced; never onto itself */
    for (int ow = 0; ow < 2; ow++) {
        id = tc_begin(t, SSH_FXP_EXTENDED);
        tc_cstr(t, "copy-file");
        tc_cstr(t, "/src");
        tc_cstr(t, "/old");
        sfk_wr_u8(&t->req, (uint8_t)ow);
        assert_int_equal(tc_send(t), 0);
        assert_int_equal(status_of(t, id), ow ? SSH_FX_OK : SSH_FX_FILE_ALREADY_EXISTS);
    }
    assert_int_equal(tc_host_read(t->root, "old", buf, sizeof buf), 7);
    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "copy-file");
    tc_cstr(t, "/src");
    tc_cstr(t, "/src");
    sfk_wr_u8(&t->req, 1);
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(status_of(t, id), SSH_FX_INVALID_PARAMETER);
    assert_int_equal(tc_host_read(t->root, "src", buf, sizeof buf), 7);

    id = tc_begin(t, SSH_FXP_EXTENDED);
    tc_cstr(t, "space-available");
    tc_cstr(t, "/");
    assert_int_equal(tc_send(t), 0);
    assert_int_equal(tc_next(t), SSH_FXP_EXTENDED_REPLY);
    assert_int_equal(t->id, id);
    uint64_t total = sfk_rd_u64(&t->rd), unused = sfk_rd_u64(&t->rd);
    sfk_rd_u64(&t->rd);
    sfk_rd_u64(&t->rd);
    uint32_t unit = sfk_rd_u32(&t->rd);
    assert_false(t->rd.bad);
    assert_int_equal(t->rd.left, 0);
    assert_true(total > 0 && unused <= total && unit > 0);
    tc_free(t);
}

/* Malformed v4..v6 packets in every request that has a v4+ form: a status, no crash, and the
 * session goes on (the next request is served). */
static void test_malformed_v4_to_v6_packets(void **state)
{
    (void)state;
    for (int v = 4; v <= 6; v++) {
        tc *t = new_at(v);
        tc_put_file(t->root, "f", "x");
        static const uint8_t types[] = {SSH_FXP_OPEN,     SSH_FXP_SETSTAT, SSH_FXP_FSETSTAT, SSH_FXP_STAT,
                                        SSH_FXP_RENAME,   SSH_FXP_LINK,    SSH_FXP_BLOCK,    SSH_FXP_UNBLOCK,
                                        SSH_FXP_REALPATH, SSH_FXP_MKDIR};
        for (size_t i = 0; i < sizeof types; i++) {
            for (unsigned cut = 0; cut < 12; cut++) {
                uint32_t id = tc_begin(t, types[i]);
                /* a path or handle, then a cut into what follows */
                tc_cstr(t, "/f");
                static const uint8_t tail[12] = {0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0x10, 0, 0, 0};
                sfk_wr_bytes(&t->req, tail, cut);
                assert_int_equal(tc_send(t), 0);
                uint8_t type = tc_next(t);
                assert_int_equal(t->id, id);
                if (type == SSH_FXP_STATUS) {
                    uint32_t code = sfk_rd_u32(&t->rd);
                    assert_true(code != SSH_FX_OK || types[i] == SSH_FXP_REALPATH || types[i] == SSH_FXP_STAT);
                }
            }
        }
        v4_attrs a;
        assert_int_equal(stat_v4(t, v, "/f", 0, &a), 0);
        assert_int_equal(a.size, 1);
        tc_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_version_is_negotiated),
        cmocka_unit_test(test_v3_version_lists_the_others_and_their_extensions),
        cmocka_unit_test(test_version_select_switches_as_the_first_request),
        cmocka_unit_test(test_version_select_refused_closes_the_session),
        cmocka_unit_test(test_v4_attributes_layout),
        cmocka_unit_test(test_v4_names_have_no_long_name),
        cmocka_unit_test(test_v4_setstat),
        cmocka_unit_test(test_v5_open_dispositions),
        cmocka_unit_test(test_v5_open_as_phpseclib_sends_it),
        cmocka_unit_test(test_v5_rename_flags),
        cmocka_unit_test(test_v6_link),
        cmocka_unit_test(test_v6_block_unblock),
        cmocka_unit_test(test_v6_open_locks),
        cmocka_unit_test(test_v6_filename_translation),
        cmocka_unit_test(test_v6_realpath),
        cmocka_unit_test(test_v6_check_file),
        cmocka_unit_test(test_v6_copy_file_and_space),
        cmocka_unit_test(test_malformed_v4_to_v6_packets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
