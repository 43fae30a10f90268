/* The on_error code of a connection's close reason. Internal. */
#ifndef SFK_CLOSE_CODES_H
#define SFK_CLOSE_CODES_H

/* SFTPKIT_ERROR_CONNECTION_TIMEOUT, _KEY_EXCHANGE_FAILED, _AUTHENTICATION_FAILED,
 * _PROTOCOL_VIOLATION, _OUT_OF_MEMORY, else SFTPKIT_ERROR_IO (a lost link, a closed socket). */
int sfk_close_reason_code(const char *why);

#endif
