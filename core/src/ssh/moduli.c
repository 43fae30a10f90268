/* A filtered copy of the system moduli file per server: libssh opens the file named by
 * SSH_BIND_OPTIONS_MODULI at every group-exchange request (and re-key) and takes the best group
 * for the client's [min, preferred, max] among those it finds, so the copy must live as long as
 * connections may exchange keys (the listener removes it after the last connection is joined). */
#include "ssh/moduli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/errors.h"

/* libssh's defaults (dh-gex.c DH_PMIN, DH_PMAX): below 2048 libssh raises the client's minimum */
enum { LIBSSH_PMIN = 2048, LIBSSH_PMAX = 8192 };
/* libssh's filter (dh-gex.c): safe primes that passed the required primality test */
enum { SAFE_PRIME = 2, PRIM_TEST_REQUIRED = 0x04 };

int sfk_moduli_needed(const sfk_moduli_limits *l)
{
    return l->min_bits > LIBSSH_PMIN || l->max_bits < LIBSSH_PMAX || l->index >= 0;
}

/* One moduli line as libssh parses it: its size in bits (the file stores bits - 1), or 0 for a
 * comment, a malformed line or a group libssh would skip. */
static long usable_bits(const char *line)
{
    char stamp[32], generator[32];
    unsigned long type, tests, tries, size;
    if (*line == '#' || sscanf(line, "%31s %lu %lu %lu %lu %31s", stamp, &type, &tests, &tries, &size, generator) != 6)
        return 0;
    return type == SAFE_PRIME && (tests & PRIM_TEST_REQUIRED) ? (long)size + 1 : 0;
}

static char *private_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char templ[4096];
    snprintf(templ, sizeof templ, "%s/sftpkit-moduli-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(templ) ? strdup(templ) : NULL; /* mkdtemp makes it 0700 */
}

/* Copies the wanted lines; returns how many, or -1 on a write error. */
static long copy_groups(FILE *in, FILE *out, const sfk_moduli_limits *l, long *usable)
{
    char line[8192]; /* an 8192-bit modulus is 2048 hex digits */
    long kept = 0;
    *usable = 0;
    while (fgets(line, sizeof line, in)) {
        if (!strchr(line, '\n') && !feof(in)) { /* longer than any real group: skip the rest */
            int ch;
            while ((ch = fgetc(in)) != EOF && ch != '\n')
                ;
            continue;
        }
        long bits = usable_bits(line);
        if (!bits)
            continue;
        int wanted = l->index >= 0 ? *usable == l->index : bits >= l->min_bits && bits <= l->max_bits;
        (*usable)++;
        if (!wanted)
            continue;
        if (l->index >= 0 && (bits < l->min_bits || bits > l->max_bits))
            return -2; /* the chosen group lies outside the size limits */
        if (fputs(line, out) == EOF)
            return -1;
        kept++;
    }
    return kept;
}

int sfk_moduli_write(const char *source, const sfk_moduli_limits *l, char **path)
{
    *path = NULL;
    if (l->min_bits > l->max_bits)
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: MinDHGroupSize (%lld) is above MaxDHGroupSize (%lld)",
                         (long long)l->min_bits, (long long)l->max_bits);
    if (l->max_bits < LIBSSH_PMIN)
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                         "start: MaxDHGroupSize %lld: libssh never sends a group below %d bits", (long long)l->max_bits,
                         LIBSSH_PMIN);
    FILE *in = fopen(source, "r");
    if (!in)
        return sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                         "start: MinDHGroupSize/MaxDHGroupSize/CustomDHGroupIndex need the groups of %s: %s", source,
                         strerror(errno));
    char *dir = private_dir(), *file = NULL;
    FILE *out = NULL;
    int rc = 0;
    if (dir && (file = malloc(strlen(dir) + 8)) != NULL) {
        sprintf(file, "%s/moduli", dir);
        int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (fd >= 0 && !out)
            close(fd);
    }
    long usable = 0, kept = out ? copy_groups(in, out, l, &usable) : -1;
    fclose(in);
    if (out && fclose(out) && kept >= 0)
        kept = -1;
    if (kept == -1)
        rc = sfk_error(SFTPKIT_ERROR_IO, "start: cannot write the filtered moduli file: %s", strerror(errno));
    else if (kept == -2)
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                       "start: CustomDHGroupIndex %lld names a group outside MinDHGroupSize..MaxDHGroupSize",
                       (long long)l->index);
    else if (l->index >= 0 && kept == 0)
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP, "start: CustomDHGroupIndex %lld: %s has %ld usable groups (0..%ld)",
                       (long long)l->index, source, usable, usable - 1);
    else if (kept == 0)
        rc = sfk_error(SFTPKIT_ERROR_INVALID_SETUP,
                       "start: %s has no group of %lld..%lld bits (MinDHGroupSize..MaxDHGroupSize): every group "
                       "exchange would fail",
                       source, (long long)l->min_bits, (long long)l->max_bits);
    if (rc) {
        if (file)
            unlink(file);
        if (dir)
            rmdir(dir);
        free(file);
    } else {
        *path = file;
    }
    free(dir);
    return rc;
}

void sfk_moduli_remove(char *path)
{
    if (!path)
        return;
    unlink(path);
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(path);
    }
    free(path);
}
