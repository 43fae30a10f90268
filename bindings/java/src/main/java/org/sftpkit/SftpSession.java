package org.sftpkit;

/**
 * One client session, as a file-system factory sees it: who signed in, from where, on which
 * connection. Immutable; one per connection.
 */
public final class SftpSession {
    private final SFTPServer server;
    private final long connectionId;
    private final String username;
    private final String remoteAddress;
    private final int remotePort;

    SftpSession(SFTPServer server, long connectionId, String username, String remoteAddress, int remotePort) {
        this.server = server;
        this.connectionId = connectionId;
        this.username = username;
        this.remoteAddress = remoteAddress;
        this.remotePort = remotePort;
    }

    /**
     * The server the session belongs to.
     *
     * @return the server
     */
    public SFTPServer getServer() {
        return server;
    }

    /**
     * The connection's id (as in every event's connection_id).
     *
     * @return the id
     */
    public long getConnectionId() {
        return connectionId;
    }

    /**
     * The user name the client signed in with.
     *
     * @return the name ("" if the server saw no successful authentication event)
     */
    public String getUsername() {
        return username;
    }

    /**
     * The client's address (after any PROXY protocol header).
     *
     * @return the address ("" when unknown)
     */
    public String getRemoteAddress() {
        return remoteAddress;
    }

    /**
     * The client's port.
     *
     * @return the port (0 when unknown)
     */
    public int getRemotePort() {
        return remotePort;
    }

    @Override
    public String toString() {
        return "SftpSession[" + connectionId + " " + username + "@" + remoteAddress + ":" + remotePort + "]";
    }
}
