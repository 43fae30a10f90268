/* OPEN flag mapping: v3 pflags -> sfk_open_req -> open(2) flags and the document's Modes. */
#include "sftp/openflags.h"

#include <fcntl.h>
#include <string.h>

#include "sftp/protocol.h"
#include "sftpkit/sftpkit_consts.h"

void sfk_open_from_v3(uint32_t pflags, sfk_open_req *o)
{
    memset(o, 0, sizeof *o);
    o->read = !!(pflags & SSH_FXF_READ);
    o->write = !!(pflags & SSH_FXF_WRITE);
    o->append = !!(pflags & SSH_FXF_APPEND);
    int creat = !!(pflags & SSH_FXF_CREAT), trunc = !!(pflags & SSH_FXF_TRUNC), excl = !!(pflags & SSH_FXF_EXCL);
    if (creat && excl)
        o->disposition = SFK_OPEN_CREATE_NEW;
    else if (creat && trunc)
        o->disposition = SFK_OPEN_CREATE_TRUNCATE;
    else if (creat)
        o->disposition = SFK_OPEN_OR_CREATE;
    else if (trunc)
        o->disposition = SFK_OPEN_TRUNCATE_EXISTING;
    else
        o->disposition = SFK_OPEN_EXISTING;
    /* Modes: the client's flags as sent, one cfm bit per pflag. */
    if (o->read)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMREAD;
    if (o->write)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMWRITE;
    if (o->append)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMAPPEND;
    if (creat)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMCREATE;
    if (trunc)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMTRUNCATE;
    if (excl)
        o->modes |= SFTPKIT_FILE_OPEN_MODE_CFMEXCL;
    o->access = 0;
    if (o->read)
        o->desired_access |= ACE4_READ_DATA;
    if (o->write)
        o->desired_access |= ACE4_WRITE_DATA;
    if (o->append)
        o->desired_access |= ACE4_APPEND_DATA;
}

int sfk_open_oflags(const sfk_open_req *o)
{
    int fl = o->read && (o->write || o->append) ? O_RDWR : (o->write || o->append) ? O_WRONLY : O_RDONLY;
    if (o->append)
        fl |= O_APPEND;
    switch (o->disposition) {
    case SFK_OPEN_EXISTING:
        break;
    case SFK_OPEN_OR_CREATE:
        fl |= O_CREAT;
        break;
    case SFK_OPEN_CREATE_NEW:
        fl |= O_CREAT | O_EXCL;
        break;
    case SFK_OPEN_CREATE_TRUNCATE:
        fl |= O_CREAT | O_TRUNC;
        break;
    case SFK_OPEN_TRUNCATE_EXISTING:
        fl |= O_TRUNC;
        break;
    }
    /* Never block on a FIFO or take a terminal; regular files ignore both. */
    return fl | O_NONBLOCK | O_NOCTTY;
}

int sfk_open_is_write(const sfk_open_req *o)
{
    return o->write || o->append || o->disposition != SFK_OPEN_EXISTING;
}
