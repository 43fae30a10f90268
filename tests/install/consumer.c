/* A program that uses an installed sftpkit exactly as a user would (pkg-config or CMake). */
#include <sftpkit/sftpkit.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    sftpkit_server *s = sftpkit_server_new();
    int64_t port = 0;
    int rc = sftpkit_server_get_port(s, &port);
    sftpkit_server_free(s);
    printf("sftpkit %s, default port %lld\n", sftpkit_version(), (long long)port);
    return rc == 0 && port == 22 && strcmp(sftpkit_version(), SFTPKIT_VERSION_STRING) == 0 ? 0 : 1;
}
