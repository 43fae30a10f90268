package org.sftpkit;

/**
 * An SSH key pair (or public key): generated, or imported from an OpenSSH/PEM file or bytes.
 * A server takes a host key by its handle, copying it:
 *
 * <pre>{@code
 * try (SSHKey key = new SSHKey()) {
 *     key.generate("ssh-ed25519", 0);
 *     srv.setServerKeyCount(1);
 *     srv.setServerKeyHandle(0, key.getHandle());
 * }
 * }</pre>
 */
public final class SSHKey implements AutoCloseable {
    private final NativeHandle handle;

    /**
     * Creates an empty key.
     *
     * @throws SFTPKitException if the native key cannot be created (out of memory)
     */
    public SSHKey() {
        long p = SFTPKitNative.sftpkit_key_new();
        if (p == 0) {
            throw new SFTPKitException(ErrorCode.OUT_OF_MEMORY, "sftpkit_key_new failed");
        }
        handle = NativeHandle.register(this, p, "SSHKey", SFTPKitNative::sftpkit_key_free);
    }

    /**
     * Generates a new key pair, replacing what the key held.
     *
     * @param algorithm {@code "ssh-ed25519"}, {@code "ssh-rsa"} or {@code "ecdsa-sha2-nistp256"} /
     *     {@code 384} / {@code 521}
     * @param bits RSA key size (2048..8192; 0 means 3072); ignored for the other algorithms
     * @throws SFTPKitException if the algorithm or size is not supported
     */
    public void generate(String algorithm, int bits) {
        long p = handle.acquire();
        try {
            check(SFTPKitNative.sftpkit_key_generate(p, Utf8.z(algorithm), bits));
        } finally {
            handle.release();
        }
    }

    /**
     * Imports a private key (OpenSSH or PEM) or a public key from a file.
     *
     * @param path the file
     * @param passphrase the passphrase of an encrypted private key; {@code null} or "" when none
     * @throws SFTPKitException if the file cannot be read or holds no usable key
     */
    public void importFile(String path, String passphrase) {
        long p = handle.acquire();
        try {
            check(SFTPKitNative.sftpkit_key_import_file(p, Utf8.z(path), Utf8.z(passphrase)));
        } finally {
            handle.release();
        }
    }

    /**
     * Imports an unencrypted key from a file.
     *
     * @param path the file
     * @throws SFTPKitException if the file cannot be read or holds no usable key
     */
    public void importFile(String path) {
        importFile(path, null);
    }

    /**
     * Imports a private key (OpenSSH or PEM) or a public key from its file contents.
     *
     * @param data the key file's bytes
     * @param passphrase the passphrase of an encrypted private key; {@code null} or "" when none
     * @throws SFTPKitException if the bytes hold no usable key
     */
    public void importBytes(byte[] data, String passphrase) {
        long p = handle.acquire();
        try {
            check(SFTPKitNative.sftpkit_key_import_bytes(p, data, Utf8.z(passphrase)));
        } finally {
            handle.release();
        }
    }

    /**
     * Imports an unencrypted key from its file contents.
     *
     * @param data the key file's bytes
     * @throws SFTPKitException if the bytes hold no usable key
     */
    public void importBytes(byte[] data) {
        importBytes(data, null);
    }

    /**
     * Makes this an external host key: only its public half and an id are in the process; every
     * signature with it is made by the server's {@code on_external_sign} listener
     * ({@code external_crypto_mode = 2}), which is called from many connection threads at once.
     *
     * @param publicKey an OpenSSH public key line (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521)
     * @param keyId the id that the event's operation_id names
     * @throws SFTPKitException if the line is not such a key or the id is empty or too long
     */
    public void importExternal(String publicKey, String keyId) {
        long p = handle.acquire();
        try {
            check(SFTPKitNative.sftpkit_key_import_external(p, Utf8.z(publicKey), Utf8.z(keyId)));
        } finally {
            handle.release();
        }
    }

    /**
     * The public key as one OpenSSH line, for example {@code "ssh-ed25519 AAAA... comment"}.
     *
     * @return the line
     * @throws SFTPKitException if the key is empty
     */
    public String exportPublic() {
        long p = handle.acquire();
        try {
            byte[][] out = new byte[1][];
            check(SFTPKitNative.sftpkit_key_export_public(p, out));
            return Utf8.decode(out[0]);
        } finally {
            handle.release();
        }
    }

    /**
     * The key's handle, for {@code setServerKeyHandle(i, handle)} and the other key_* properties.
     *
     * @return the handle
     */
    public long getHandle() {
        long p = handle.acquire();
        try {
            long[] out = new long[1];
            check(SFTPKitNative.sftpkit_key_get_handle(p, out));
            return out[0];
        } finally {
            handle.release();
        }
    }

    /** Frees the key. Servers that took it by handle keep their own copy. Safe to call twice. */
    @Override
    public void close() {
        handle.close(false);
    }

    private static void check(int rc) {
        if (rc != 0) {
            throw SFTPKitException.fromLastError(rc);
        }
    }
}
