/* One table from the connection thread's close reasons (its own texts, connection.c) to the codes
 * on_error carries, so an application can tell a timeout from a failed key exchange from an
 * attack without parsing the description. A reason is matched by its start: the composed ones
 * ("key exchange failed: <libssh's detail>") keep a fixed beginning. */
#include "server/close_codes.h"

#include <string.h>

#include "sftpkit/sftpkit_consts.h"

static const struct {
    const char *start;
    int code;
} reasons[] = {
    {"handshake timeout", SFTPKIT_ERROR_CONNECTION_TIMEOUT},
    {"idle timeout", SFTPKIT_ERROR_CONNECTION_TIMEOUT},
    {"keepalive timeout", SFTPKIT_ERROR_CONNECTION_TIMEOUT},
    {"write timeout", SFTPKIT_ERROR_CONNECTION_TIMEOUT},
    {"key exchange failed", SFTPKIT_ERROR_KEY_EXCHANGE_FAILED},
    {"the client does not support strict key exchange", SFTPKIT_ERROR_KEY_EXCHANGE_FAILED},
    {"too many failed authentication attempts", SFTPKIT_ERROR_AUTHENTICATION_FAILED},
    {"the address is banned", SFTPKIT_ERROR_AUTHENTICATION_FAILED},
    {"protocol violation", SFTPKIT_ERROR_PROTOCOL_VIOLATION},
    {"SFTP protocol error", SFTPKIT_ERROR_PROTOCOL_VIOLATION},
    {"out of memory", SFTPKIT_ERROR_OUT_OF_MEMORY},
};

int sfk_close_reason_code(const char *why)
{
    for (size_t i = 0; why && i < sizeof reasons / sizeof *reasons; i++)
        if (!strncmp(why, reasons[i].start, strlen(reasons[i].start)))
            return reasons[i].code;
    return SFTPKIT_ERROR_IO;
}
