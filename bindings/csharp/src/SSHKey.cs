#nullable enable
using System;
using N = SFTPKit.Interop.SFTPKitNative;

namespace SFTPKit
{
    /// <summary>
    /// An SSH key pair (or public key). A server uses a host key by handle:
    /// <c>srv.ServerKeyCount = 1; srv.SetServerKeyHandle(0, key.Handle);</c> copies the key into slot 0,
    /// so the key object may be disposed afterwards.
    /// </summary>
    public sealed class SSHKey : IDisposable
    {
        private readonly KeyHandle _handle;

        /// <summary>An empty key; fill it with <see cref="Generate"/>, <see cref="ImportFile"/> or <see cref="ImportBytes"/>.</summary>
        public SSHKey()
        {
            IntPtr p = N.sftpkit_key_new();
            if (p == IntPtr.Zero)
                throw new OutOfMemoryException("sftpkit_key_new failed");
            _handle = new KeyHandle(p);
        }

        /// <summary>Generates a new key pair.</summary>
        /// <param name="algorithm">"ssh-ed25519", "ssh-rsa" or "ecdsa-sha2-nistp256/384/521".</param>
        /// <param name="bits">RSA size 2048..8192 (0 = 3072); ignored for other algorithms.</param>
        /// <exception cref="SFTPKitException">Unknown algorithm or bad size (1048580).</exception>
        public void Generate(string algorithm, long bits)
        {
            if (bits < int.MinValue || bits > int.MaxValue)
                throw new SFTPKitException(ErrorCode.InvalidParameter, "generate: bits " + bits + " is out of range");
            using var h = _handle.Acquire(nameof(SSHKey));
            SFTPKitException.Check(N.sftpkit_key_generate(h.Ptr, Utf8.Encode(algorithm), (int)bits));
        }

        /// <summary>Loads a private key (OpenSSH or PEM) or a public key from a file.</summary>
        /// <exception cref="SFTPKitException">The file is missing, unreadable or not a key (1048602).</exception>
        public void ImportFile(string path, string passphrase = "")
        {
            using var h = _handle.Acquire(nameof(SSHKey));
            SFTPKitException.Check(N.sftpkit_key_import_file(h.Ptr, Utf8.Encode(path), Utf8.Encode(passphrase ?? "")));
        }

        /// <summary>Loads a key from its file contents.</summary>
        /// <exception cref="SFTPKitException">Not a key, or a wrong passphrase (1048602).</exception>
        public void ImportBytes(byte[] data, string passphrase = "")
        {
            data ??= Array.Empty<byte>();
            using var h = _handle.Acquire(nameof(SSHKey));
            SFTPKitException.Check(N.sftpkit_key_import_bytes(h.Ptr, data, (ulong)data.Length,
                                                            Utf8.Encode(passphrase ?? "")));
        }

        /// <summary>Makes this an external host key: only its public half (an OpenSSH public key
        /// line) and an id. Every signature with it is made by the server's OnExternalSign handler
        /// (ExternalCryptoMode = 2), which is called from many connection threads at once.</summary>
        /// <exception cref="SFTPKitException">Not a supported public key, or a bad id.</exception>
        public void ImportExternal(string publicKey, string keyId)
        {
            using var h = _handle.Acquire(nameof(SSHKey));
            SFTPKitException.Check(N.sftpkit_key_import_external(h.Ptr, Utf8.Encode(publicKey), Utf8.Encode(keyId)));
        }

        /// <summary>The public key as an OpenSSH line, "ssh-ed25519 AAAA... comment".</summary>
        public string ExportPublic()
        {
            using var h = _handle.Acquire(nameof(SSHKey));
            SFTPKitException.Check(N.sftpkit_key_export_public(h.Ptr, out IntPtr line));
            return Utf8.Take(line);
        }

        /// <summary>The key's handle, for <see cref="SFTPServer.SetServerKeyHandle"/>.</summary>
        public long Handle
        {
            get
            {
                using var h = _handle.Acquire(nameof(SSHKey));
                SFTPKitException.Check(N.sftpkit_key_get_handle(h.Ptr, out long v));
                return v;
            }
        }

        /// <summary>Frees the key. Servers that copied it keep their copy.</summary>
        public void Dispose() => _handle.Dispose();
    }

    /// <summary>Library identity.</summary>
    public static partial class SFTPKitInfo
    {
        /// <summary>The loaded native library's version, "MAJOR.MINOR.PATCH".</summary>
        public static string LibraryVersion => N.sftpkit_version();
    }
}
