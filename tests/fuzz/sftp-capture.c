/* sftp-capture: an SFTP server on stdin/stdout (the engine over the local back-end) that records
 * every byte the client sends. Real clients run it in place of ssh, so the fuzz corpus holds
 * what they really send, captured at the engine's input:
 *   sftp -D "sftp-capture ROOT OUT" ...       (OpenSSH: -D runs a local sftp-server)
 *   lftp: set sftp:connect-program to a wrapper that execs sftp-capture ROOT OUT
 *   paramiko / asyncssh: a pipe to the process (tests/fuzz/capture-seeds)
 * OUT receives the raw client stream; tests/fuzz/capture-seeds turns it into corpus form. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sftp/engine.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sftp-capture ROOT OUT [ignored ssh-style arguments]\n");
        return 2;
    }
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        perror(argv[2]);
        return 1;
    }
    sfk_engine_config cfg = {.server = NULL, .connection_id = 1, .username = "capture", .root = argv[1]};
    sfk_engine *e = sfk_engine_new(&cfg);
    if (!e) {
        fprintf(stderr, "sftp-capture: cannot serve %s\n", argv[1]);
        return 1;
    }
    static uint8_t buf[256 * 1024];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (write_all(out, buf, (size_t)n) < 0)
            break;
        int rc = sfk_engine_input(e, buf, (size_t)n);
        size_t len;
        const uint8_t *p;
        while ((p = sfk_engine_output(e, &len)) && len) {
            if (write_all(1, p, len) < 0)
                goto done;
            sfk_engine_consume(e, len);
        }
        if (rc)
            break;
    }
done:
    sfk_engine_free(e);
    close(out);
    return 0;
}
