#nullable enable
using System;
using System.Runtime.InteropServices;
using System.Text;
using N = SFTPKit.Interop.SFTPKitNative;

namespace SFTPKit
{
    /// <summary>
    /// Every string crossing into C goes through here: NUL-terminated UTF-8, encoded explicitly, so the
    /// result never depends on the runtime's default ("ANSI") string marshalling.
    /// </summary>
    internal static class Utf8
    {
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>NUL-terminated UTF-8 for s; null stays null (the library reports a NULL argument).</summary>
        [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(s))]
        internal static byte[]? Encode(string? s)
        {
            if (s == null)
                return null;
            if (s.IndexOf('\0') >= 0)
                throw new ArgumentException("a string passed to sftpkit must not contain NUL characters");
            // Lone surrogates cannot be encoded as UTF-8; the strict encoder refuses them instead of
            // silently replacing them with U+FFFD.
            var bytes = new byte[Strict.GetByteCount(s) + 1];
            Strict.GetBytes(s, 0, s.Length, bytes, 0);
            return bytes;
        }

        /// <summary>Decodes a library-allocated UTF-8 string and frees it with sftpkit_free.</summary>
        internal static string Take(IntPtr p)
        {
            if (p == IntPtr.Zero)
                return "";
            try
            {
                return Marshal.PtrToStringUTF8(p) ?? "";
            }
            finally
            {
                N.sftpkit_free(p);
            }
        }

        /// <summary>Copies a library-allocated buffer into a new byte[] and frees it.</summary>
        internal static byte[] TakeBytes(IntPtr p, ulong len)
        {
            if (p == IntPtr.Zero)
                return Array.Empty<byte>();
            try
            {
                var bytes = new byte[checked((int)len)];
                if (len > 0)
                    Marshal.Copy(p, bytes, 0, bytes.Length);
                return bytes;
            }
            finally
            {
                N.sftpkit_free(p);
            }
        }
    }
}
