#include "server/channel_gather.h"

/* 4 KiB per round: 128 rounds cover 512 KiB, more than one 261 120-byte WRITE plus headers */
enum { MAX_ROUNDS = 128 };

int sfk_channel_gather(ssh_event ev, ssh_channel channel, int target)
{
    int buffered = ssh_channel_poll(channel, 0); /* no system call while something is buffered */
    for (int round = 0; round < MAX_ROUNDS && buffered >= 0 && buffered < target; round++) {
        if (ssh_event_dopoll(ev, 0) != SSH_OK)
            break; /* nothing more waiting (SSH_AGAIN), or an error the next read reports */
        buffered = ssh_channel_poll(channel, 0);
    }
    return buffered;
}
