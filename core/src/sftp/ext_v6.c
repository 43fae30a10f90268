/* Version 6 (draft-ietf-secsh-filexfer-13): LINK, BLOCK/UNBLOCK, REALPATH with its control byte
 * and compose paths, and the extensions check-file-handle/-name, copy-file, space-available
 * (plus version-select, version.c). Every path goes through the same normalization and
 * confinement as v3 (sfk_take_path, the root's fs), read_only refuses what changes anything,
 * and the on_before_* policies of the matching v3 operation apply (check-file and the source of
 * copy-file are downloads, the target of copy-file an upload, LINK the link policy).
 *
 * BLOCK takes open-file-description locks (F_OFD_SETLK): they conflict between handles and
 * sessions and end with the handle, but like every POSIX lock they are advisory for READ/WRITE
 * (a documented difference to the draft's mandatory reading). OPEN's BLOCK_* flags take the same
 * lock over the whole file, in the advisory form only (BLOCK_ADVISORY): there the draft asks a
 * server that cannot keep the mandatory form to refuse it (OP_UNSUPPORTED). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sftp/status.h"
#include "sftp/version.h"
#include "sftpkit/sftpkit_consts.h"

/* ---- LINK ------------------------------------------------------------------------------------ */

static int create_symlink(sfk_engine *e)
{
    if (!e->fs)
        return SSH_FX_OP_UNSUPPORTED;
    int rc = sfk_fs_symlink(e->fs, e->link_target, e->rel1);
    return rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
}

static int create_hardlink(sfk_engine *e)
{
    if (!e->fs)
        return SSH_FX_OP_UNSUPPORTED;
    int rc = sfk_fs_link(e->fs, e->rel2, e->rel1); /* (existing, new) */
    return rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
}

/* new-link-path, existing-path, bool symlink. A symbolic link stores existing-path verbatim
 * (resolved inside the root later, as SYMLINK does); a hard link names a file in the root.
 * Unlike SYMLINK, every client checked sends the draft's order here (lftp, asyncssh, phpseclib,
 * net-sftp), so LINK does not follow the connection's SYMLINK order. */
void sfk_req_link(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    sfk_rd at = r->rd;
    size_t tlen;
    const char *target = (const char *)sfk_rd_str(&r->rd, &tlen);
    int sym = sfk_rd_u8(&r->rd) != 0;
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (!st && sym &&
        (tlen == 0 || tlen > SFK_PATH_MAX || memchr(target, '\0', tlen) || (e->utf8 && !sfk_utf8_valid(target, tlen))))
        st = SSH_FX_INVALID_FILENAME;
    if (!st && !sym)
        st = sfk_take_path(e, &at, 1);
    if (!st && e->read_only)
        st = SSH_FX_WRITE_PROTECT;
    if (st)
        return sfk_reply_status(e, r->id, st);
    if (sym) {
        memcpy(e->link_target, target, tlen);
        e->link_target[tlen] = '\0';
        return sfk_reply_status(e, r->id, sfk_app_link(e, e->abs1, e->link_target, 0, create_symlink));
    }
    sfk_reply_status(e, r->id, sfk_app_link(e, e->abs1, e->abs2, 1, create_hardlink));
}

/* ---- BLOCK / UNBLOCK ------------------------------------------------------------------------ */

#define SFK_MAX_LOCKS 32 /* ranges one handle may hold: a client cannot grow this without bound */

struct sfk_locks {
    uint32_t n;
    struct {
        uint64_t off, len;
    } r[SFK_MAX_LOCKS];
};

void sfk_locks_free(sfk_handle *h)
{
    free(h->locks); /* the kernel drops the locks when the descriptor closes */
    h->locks = NULL;
}

/* The handle and range of BLOCK/UNBLOCK; 0 or an SFTP status. */
static int lock_target(sfk_engine *e, sfk_req *r, sfk_handle **h, uint64_t *off, uint64_t *len, uint32_t *mask)
{
    *h = sfk_take_handle(e, &r->rd);
    *off = sfk_rd_u64(&r->rd);
    *len = sfk_rd_u64(&r->rd);
    if (mask)
        *mask = sfk_rd_u32(&r->rd);
    if (!sfk_parsed(r))
        return SSH_FX_BAD_MESSAGE;
    if (!*h || (*h)->kind != SFK_H_FILE)
        return SSH_FX_INVALID_HANDLE;
    if ((*h)->custom)
        return SSH_FX_OP_UNSUPPORTED; /* no event covers locks */
    if (*off > (uint64_t)INT64_MAX || *len > (uint64_t)INT64_MAX - *off)
        return SSH_FX_INVALID_PARAMETER;
    return 0;
}

static int set_lock(int fd, short type, uint64_t off, uint64_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)off, .l_len = (off_t)len};
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Locks [off, off+len) of the handle (len 0: to the end, growing with the file) and records the
 * range for UNBLOCK; 0, or -errno (-EAGAIN/-EACCES: a conflict; -EBADF: the handle's access does
 * not allow that kind of lock; -ENOLCK: the handle holds SFK_MAX_LOCKS ranges). Blocking others'
 * reads needs an exclusive lock; blocking writes or deletes a shared one. */
static int take_lock(sfk_handle *h, uint32_t mask, uint64_t off, uint64_t len)
{
    if (!h->locks && !(h->locks = calloc(1, sizeof *h->locks)))
        return -ENOMEM;
    if (h->locks->n == SFK_MAX_LOCKS)
        return -ENOLCK;
    int rc = set_lock(h->fd, (mask & SSH_FXF_BLOCK_READ) ? F_WRLCK : F_RDLCK, off, len);
    if (rc < 0)
        return rc;
    h->locks->r[h->locks->n].off = off;
    h->locks->r[h->locks->n].len = len;
    h->locks->n++;
    return 0;
}

void sfk_req_block(sfk_engine *e, sfk_req *r)
{
    sfk_handle *h;
    uint64_t off, len;
    uint32_t mask;
    int st = lock_target(e, r, &h, &off, &len, &mask);
    const uint32_t known = SSH_FXF_BLOCK_READ | SSH_FXF_BLOCK_WRITE | SSH_FXF_BLOCK_DELETE | SSH_FXF_BLOCK_ADVISORY;
    if (!st && (mask == 0 || (mask & ~known)))
        st = SSH_FX_INVALID_PARAMETER;
    if (st)
        return sfk_reply_status(e, r->id, st);
    int rc = take_lock(h, mask, off, len);
    if (rc == -EAGAIN || rc == -EACCES)
        return sfk_reply_status(e, r->id, SSH_FX_BYTE_RANGE_LOCK_CONFLICT);
    if (rc == -EBADF || rc == -ENOLCK)
        return sfk_reply_status(e, r->id, SSH_FX_BYTE_RANGE_LOCK_REFUSED);
    if (rc < 0)
        return sfk_reply_errno(e, r->id, rc);
    sfk_reply_status(e, r->id, SSH_FX_OK);
}

int sfk_open_lock_allowed(const sfk_open_req *o)
{
    uint32_t blocks = (uint32_t)o->access & (SFTPKIT_FILE_ACCESS_CFAREADLOCK | SFTPKIT_FILE_ACCESS_CFAWRITELOCK |
                                             SFTPKIT_FILE_ACCESS_CFADELETELOCK);
    /* a POSIX lock binds only those who lock too: the advisory form is what can be kept */
    return blocks && !(o->access & SFTPKIT_FILE_ACCESS_CFABLOCKADVISORY) ? SSH_FX_OP_UNSUPPORTED : SSH_FX_OK;
}

int sfk_open_lock(sfk_handle *h)
{
    uint32_t mask = (uint32_t)h->open.access << 6; /* back to the BLOCK flags */
    if (!(mask & (SSH_FXF_BLOCK_READ | SSH_FXF_BLOCK_WRITE | SSH_FXF_BLOCK_DELETE)))
        return SSH_FX_OK;
    /* a write-only handle cannot take a shared lock: an exclusive one blocks more, never less */
    if (!h->open.read)
        mask |= SSH_FXF_BLOCK_READ;
    int rc = take_lock(h, mask, 0, 0); /* the whole file, as UNBLOCK (0, 0) names it */
    if (rc == -EAGAIN || rc == -EACCES)
        return SSH_FX_LOCK_CONFLICT;
    if (rc == -EBADF) /* BLOCK_READ on a read-only handle: no exclusive lock through it */
        return SSH_FX_OP_UNSUPPORTED;
    return rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK;
}

void sfk_req_unblock(sfk_engine *e, sfk_req *r)
{
    sfk_handle *h;
    uint64_t off, len;
    int st = lock_target(e, r, &h, &off, &len, NULL);
    if (st)
        return sfk_reply_status(e, r->id, st);
    struct sfk_locks *l = h->locks;
    for (uint32_t i = 0; l && i < l->n; i++) {
        if (l->r[i].off != off || l->r[i].len != len)
            continue;
        int rc = set_lock(h->fd, F_UNLCK, off, len);
        if (rc < 0)
            return sfk_reply_errno(e, r->id, rc);
        l->r[i] = l->r[--l->n];
        return sfk_reply_status(e, r->id, SSH_FX_OK);
    }
    sfk_reply_status(e, r->id, SSH_FX_NO_MATCHING_BYTE_RANGE_LOCK);
}

/* ---- REALPATH -------------------------------------------------------------------------------- */

/* original-path, [control-byte], [compose-path...]: each compose path is taken relative to what
 * came before (an absolute one starts over). The result is resolved as in v3 (sfk_do_realpath:
 * symlinks inside the root, on_translate_path); STAT_IF / STAT_ALWAYS add the attributes. */
void sfk_realpath_v6(sfk_engine *e, sfk_req *r)
{
    char path[SFK_PATH_MAX + 1];
    size_t len;
    const char *p = (const char *)sfk_rd_str(&r->rd, &len);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (len > SFK_PATH_MAX)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_FILENAME);
    memcpy(path, p, len);
    uint8_t control = SSH_FXP_REALPATH_NO_CHECK;
    if (r->rd.left)
        control = sfk_rd_u8(&r->rd);
    if (control < SSH_FXP_REALPATH_NO_CHECK || control > SSH_FXP_REALPATH_STAT_ALWAYS)
        return sfk_reply_status(e, r->id, SSH_FX_INVALID_PARAMETER);
    while (r->rd.left) {
        size_t clen;
        const char *c = (const char *)sfk_rd_str(&r->rd, &clen);
        if (r->rd.bad)
            return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
        if (clen && c[0] == '/')
            len = 0;
        size_t need = len + (len && clen ? 1 : 0) + clen;
        if (need > SFK_PATH_MAX)
            return sfk_reply_status(e, r->id, SSH_FX_INVALID_FILENAME);
        if (len && clen)
            path[len++] = '/';
        memcpy(path + len, c, clen);
        len += clen;
    }
    e->realpath_control = control;
    sfk_do_realpath(e, r->id, path, len);
    e->realpath_control = 0;
}

void sfk_realpath_v6_reply(sfk_engine *e, uint32_t id, const char *name)
{
    sfk_attrs a = {0};
    if (e->fs && e->realpath_control >= SSH_FXP_REALPATH_STAT_IF) {
        char rel[SFK_PATH_MAX + 1];
        struct stat sb;
        int rc = sfk_path_normalize(name, strlen(name), rel, sizeof rel);
        if (rc >= 0)
            rc = sfk_fs_stat(e->fs, rel, 1, &sb);
        if (rc >= 0)
            sfk_attrs_from_stat(&a, &sb);
        else if (e->realpath_control == SSH_FXP_REALPATH_STAT_ALWAYS)
            return sfk_reply_errno(e, id, rc < 0 ? rc : -ENOENT);
    }
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_NAME);
    sfk_wr_u32(&e->out, id);
    sfk_wr_u32(&e->out, 1);
    sfk_encode_entry(e, &e->out, name, strlen(name), &a, NULL, NULL);
    sfk_wr_end(&e->out, start);
}

/* ---- check-file-handle / check-file-name ------------------------------------------------------ */

#define SFK_HASH_CHUNK (64u * 1024u)

static const struct {
    const char *name;
    const char *evp;
} hashes[] = {
    {"md5", "MD5"},       {"sha1", "SHA1"},     {"sha224", "SHA224"},
    {"sha256", "SHA256"}, {"sha384", "SHA384"}, {"sha512", "SHA512"},
};

/* The first algorithm of the client's comma-separated list that is known; -1 if none. */
static int pick_hash(const char *list, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && list[j] != ',')
            j++;
        for (size_t k = 0; k < sizeof hashes / sizeof hashes[0]; k++)
            if (strlen(hashes[k].name) == j - i && !memcmp(hashes[k].name, list + i, j - i))
                return (int)k;
        i = j + 1;
    }
    return -1;
}

/* Hashes [off, off+len) of fd in blocks of bsize (0: one hash) straight into the reply. */
static int hash_into_reply(sfk_engine *e, int fd, int alg, uint64_t off, uint64_t len, uint32_t bsize)
{
    EVP_MD *md = EVP_MD_fetch(NULL, hashes[alg].evp, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t *buf = malloc(SFK_HASH_CHUNK);
    int st = md && ctx && buf ? SSH_FX_OK : SSH_FX_FAILURE;
    uint64_t block = bsize ? bsize : len;
    for (uint64_t done = 0; st == SSH_FX_OK && done < len;) {
        uint64_t this_block = len - done < block ? len - done : block;
        if (!EVP_DigestInit_ex(ctx, md, NULL)) {
            st = SSH_FX_FAILURE;
            break;
        }
        for (uint64_t b = 0; b < this_block && st == SSH_FX_OK;) {
            if (e->cancel && atomic_load(e->cancel)) {
                st = SSH_FX_FAILURE;
                break;
            }
            size_t want = this_block - b < SFK_HASH_CHUNK ? (size_t)(this_block - b) : SFK_HASH_CHUNK;
            ssize_t n = pread(fd, buf, want, (off_t)(off + done + b));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                st = sfk_status_from_errno(errno);
            else if (n == 0)
                st = SSH_FX_EOF; /* shrank while we read */
            else
                EVP_DigestUpdate(ctx, buf, (size_t)n), b += (uint64_t)n;
        }
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned dlen = 0;
        if (st == SSH_FX_OK && EVP_DigestFinal_ex(ctx, digest, &dlen))
            sfk_wr_bytes(&e->out, digest, dlen);
        done += this_block;
    }
    free(buf);
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    return st;
}

/* The most one check-file request hashes (about a second of SHA-256 here). Without a bound a
 * client makes a sparse file of 2^62 bytes (SETSTAT size: no disk used) and keeps the session's
 * thread hashing zeros for years (found by fuzz_engine_local); a larger file is checked range
 * by range (start-offset, length), which the draft's request allows. */
#define SFK_CHECK_FILE_MAX_BYTES (256ull * 1024 * 1024)

/* handle-or-name, hash-algorithm-list, start-offset, length (0: to the end), block-size. */
static void check_file(sfk_engine *e, sfk_req *r, int by_name)
{
    sfk_handle *h = NULL;
    int st = 0;
    if (by_name)
        st = sfk_take_path(e, &r->rd, 0);
    else
        h = sfk_take_handle(e, &r->rd);
    size_t alen;
    const char *algs = (const char *)sfk_rd_str(&r->rd, &alen);
    uint64_t off = sfk_rd_u64(&r->rd), len = sfk_rd_u64(&r->rd);
    uint32_t bsize = sfk_rd_u32(&r->rd);
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    int alg = st ? -1 : pick_hash(algs, alen);
    if (!st && alg < 0)
        st = SSH_FX_OP_UNSUPPORTED;
    if (!st && ((bsize && bsize < 256) || off > (uint64_t)INT64_MAX))
        st = SSH_FX_INVALID_PARAMETER;
    if (!st && !by_name && (!h || h->kind != SFK_H_FILE))
        st = SSH_FX_INVALID_HANDLE;
    if (!st && !by_name && (h->custom || !h->open.read))
        st = h->custom ? SSH_FX_OP_UNSUPPORTED : SSH_FX_PERMISSION_DENIED;
    if (!st && by_name) {
        int action = sfk_app_before(e, SFK_OP_DOWNLOAD, e->abs1, NULL);
        if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT)
            st = SSH_FX_PERMISSION_DENIED;
        else if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM || !e->fs)
            st = SSH_FX_OP_UNSUPPORTED; /* a virtual file: no event reads it for hashing */
    }
    if (st)
        return sfk_reply_status(e, r->id, st);
    int fd = h ? h->fd : sfk_fs_open(e->fs, e->rel1, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, 1);
    if (fd < 0)
        return sfk_reply_errno(e, r->id, fd);
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        st = S_ISDIR(sb.st_mode) ? SSH_FX_FILE_IS_A_DIRECTORY : SSH_FX_OP_UNSUPPORTED;
    } else {
        uint64_t size = (uint64_t)sb.st_size;
        uint64_t end = off >= size ? off : (len == 0 || len > size - off) ? size : off + len;
        uint64_t n = end - off;
        /* the reply holds every block's hash: refuse what would not fit one packet, and more
         * bytes than one request may hash */
        uint64_t blocks = bsize ? (n + bsize - 1) / bsize : 1;
        if (blocks * EVP_MAX_MD_SIZE > SFK_SFTP_MAX_RW_LENGTH || n > SFK_CHECK_FILE_MAX_BYTES) {
            st = SSH_FX_INVALID_PARAMETER;
        } else {
            size_t start = sfk_wr_begin(&e->out, SSH_FXP_EXTENDED_REPLY);
            sfk_wr_u32(&e->out, r->id);
            sfk_wr_cstr(&e->out, "check-file");
            sfk_wr_cstr(&e->out, hashes[alg].name);
            st = hash_into_reply(e, fd, alg, off, n, bsize);
            if (st)
                e->out.len = start; /* drop the partial reply: a STATUS answers instead */
            else
                sfk_wr_end(&e->out, start);
        }
    }
    if (!h)
        close(fd);
    if (st)
        sfk_reply_status(e, r->id, st);
}

static void ext_check_file_handle(sfk_engine *e, sfk_req *r)
{
    check_file(e, r, 0);
}

static void ext_check_file_name(sfk_engine *e, sfk_req *r)
{
    check_file(e, r, 1);
}

/* ---- copy-file ------------------------------------------------------------------------------- */

/* source, destination, bool overwrite. */
static void ext_copy_file(sfk_engine *e, sfk_req *r)
{
    int st = sfk_take_path(e, &r->rd, 0);
    if (!st)
        st = sfk_take_path(e, &r->rd, 1);
    int overwrite = sfk_rd_u8(&r->rd) != 0;
    if (!st && !sfk_parsed(r))
        st = SSH_FX_BAD_MESSAGE;
    if (!st && e->read_only)
        st = SSH_FX_WRITE_PROTECT;
    for (int i = 0; !st && i < 2; i++) {
        int action = sfk_app_before(e, i ? SFK_OP_UPLOAD : SFK_OP_DOWNLOAD, i ? e->abs2 : e->abs1, NULL);
        if (action == SFTPKIT_FILE_REQUEST_ACTION_FRAABORT)
            st = SSH_FX_PERMISSION_DENIED;
        else if (action == SFTPKIT_FILE_REQUEST_ACTION_FRACUSTOM || !e->fs)
            st = SSH_FX_OP_UNSUPPORTED;
    }
    if (st)
        return sfk_reply_status(e, r->id, st);
    int in = sfk_fs_open(e->fs, e->rel1, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, 1);
    if (in < 0)
        return sfk_reply_errno(e, r->id, in);
    struct stat si, so;
    if (fstat(in, &si) < 0 || !S_ISREG(si.st_mode)) {
        close(in);
        return sfk_reply_status(e, r->id, S_ISDIR(si.st_mode) ? SSH_FX_FILE_IS_A_DIRECTORY : SSH_FX_OP_UNSUPPORTED);
    }
    /* onto itself with overwrite would truncate the source before reading it */
    if (sfk_fs_stat(e->fs, e->rel2, 1, &so) == 0 && so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
        close(in);
        return sfk_reply_status(e, r->id, overwrite ? SSH_FX_INVALID_PARAMETER : SSH_FX_FILE_ALREADY_EXISTS);
    }
    int fl = O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | (overwrite ? O_TRUNC : O_EXCL);
    int out = sfk_fs_open(e->fs, e->rel2, fl, sfk_client_perm(e, si.st_mode & 0777), 1);
    if (out < 0) {
        close(in);
        return sfk_reply_errno(e, r->id, out);
    }
    int rc = sfk_fs_copy_range(in, 0, (uint64_t)si.st_size, out, 0, e->cancel);
    close(in);
    if (close(out) < 0 && rc == 0)
        rc = -errno;
    sfk_reply_status(e, r->id, rc < 0 ? sfk_status_from_errno(-rc) : SSH_FX_OK);
}

/* ---- space-available ------------------------------------------------------------------------- */

static void ext_space_available(sfk_engine *e, sfk_req *r)
{
    struct statvfs sv;
    if (sfk_statvfs_request(e, r, &sv))
        return;
    uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    size_t start = sfk_wr_begin(&e->out, SSH_FXP_EXTENDED_REPLY);
    sfk_wr_u32(&e->out, r->id);
    sfk_wr_u64(&e->out, (uint64_t)sv.f_blocks * unit);                                /* bytes on device */
    sfk_wr_u64(&e->out, (uint64_t)sv.f_bfree * unit);                                 /* unused on device */
    sfk_wr_u64(&e->out, (uint64_t)(sv.f_blocks - (sv.f_bfree - sv.f_bavail)) * unit); /* for this user */
    sfk_wr_u64(&e->out, (uint64_t)sv.f_bavail * unit);                                /* unused for this user */
    sfk_wr_u32(&e->out, (uint32_t)(unit > UINT32_MAX ? UINT32_MAX : unit));
    sfk_wr_end(&e->out, start);
}

/* ---- filename-translation-control ---------------------------------------------------------- */

/* bool do-translate (draft -13 section 6). The server's charset is UTF-8 (filename-charset), so
 * "translating" means: names must be UTF-8, and a name on disk that is not is shown converted
 * from ISO-8859-1 (dirs.c, with its bytes in untranslated-name). false: names are the bytes as
 * on disk, both ways (what use_utf8 off is for v3). v4+ only: v3 has no filename-charset. */
static void ext_filename_translation(sfk_engine *e, sfk_req *r)
{
    uint8_t translate = sfk_rd_u8(&r->rd);
    if (!sfk_parsed(r))
        return sfk_reply_status(e, r->id, SSH_FX_BAD_MESSAGE);
    if (e->version < 4)
        return sfk_reply_status(e, r->id, SSH_FX_OP_UNSUPPORTED);
    e->utf8 = translate != 0;
    sfk_reply_status(e, r->id, SSH_FX_OK);
}

/* ---- the table ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    sfk_req_fn fn;
} v6_extensions[] = {
    {"version-select", sfk_version_select},   {"check-file-handle", ext_check_file_handle},
    {"check-file-name", ext_check_file_name}, {"copy-file", ext_copy_file},
    {"space-available", ext_space_available}, {"filename-translation-control", ext_filename_translation},
};

size_t sfk_ext_v6_count(void)
{
    return sizeof v6_extensions / sizeof v6_extensions[0];
}

const char *sfk_ext_v6_name(size_t i)
{
    return v6_extensions[i].name;
}

int sfk_ext_v6_dispatch(sfk_engine *e, sfk_req *r, const char *name, size_t len)
{
    for (size_t i = 0; i < sfk_ext_v6_count(); i++)
        if (strlen(v6_extensions[i].name) == len && !memcmp(v6_extensions[i].name, name, len)) {
            v6_extensions[i].fn(e, r);
            return 1;
        }
    return 0;
}
