#include "server/fd_budget.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/config.h"

static int64_t open_descriptors(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 16; /* a guess: stdio, a log file, the libraries' own */
    int64_t n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 3 ? n - 3 : n; /* ".", ".." and the directory's own descriptor */
}

void sfk_fd_budget_init(sfk_fd_budget *b, sftpkit_server *s, int max_connections)
{
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    b->soft = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)INT32_MAX ? INT32_MAX : (int64_t)rl.rlim_cur;
    b->base = open_descriptors();
    b->reserve = sfk_config_int(s, SFK_CFG_FILEDESCRIPTORRESERVE);
    int64_t cap = sfk_config_int(s, SFK_CFG_MAXOPENHANDLES);
    if (cap <= 0) {
        /* what remains once every allowed connection has its two descriptors, but connections
         * never claim more than half: with the common soft limit of 1024 and MaxConnections 1000,
         * handles would otherwise get nothing (connections are refused first when it is short) */
        int64_t conns = max_connections > 0 ? max_connections : 1000;
        int64_t avail = b->soft - b->base - b->reserve;
        int64_t for_conns = 2 * conns < avail / 2 ? 2 * conns : avail / 2;
        cap = avail - for_conns;
        if (cap < 16)
            cap = 16; /* a tiny limit still lets a few files open */
    }
    b->handle_cap = cap;
    int64_t user = sfk_config_int(s, SFK_CFG_MAXOPENHANDLESPERUSER);
    b->user_cap = user > 0 ? user : (cap / 4 > 4 ? cap / 4 : 4);
    atomic_store(&b->handles, 0);
    b->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void sfk_fd_budget_destroy(sfk_fd_budget *b)
{
    if (b->spare_fd >= 0)
        close(b->spare_fd);
    b->spare_fd = -1;
}

int sfk_fd_budget_connection_fits(sfk_fd_budget *b, int live)
{
    int64_t in_use = b->base + 2 * (int64_t)(live + 1) + atomic_load(&b->handles);
    return in_use <= b->soft - b->reserve / 2;
}

int sfk_fd_budget_shed(sfk_fd_budget *b, int listen_fd)
{
    if (b->spare_fd < 0)
        return 0;
    close(b->spare_fd);
    b->spare_fd = -1;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0)
        close(fd);
    b->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0;
}
