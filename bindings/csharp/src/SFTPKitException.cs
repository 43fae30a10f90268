#nullable enable
using System;
using N = SFTPKit.Interop.SFTPKitNative;

namespace SFTPKit
{
    /// <summary>
    /// An error reported by the sftpkit library: <see cref="Code"/> is the numeric code (see
    /// <see cref="ErrorCode"/>), the message names what was wrong.
    /// </summary>
    public class SFTPKitException : Exception
    {
        /// <summary>Creates an exception with a library error code and a message.</summary>
        public SFTPKitException(int code, string message) : base(message)
        {
            Code = code;
        }

        /// <summary>The library's error code (for example 1048580, <see cref="ErrorCode.InvalidValue"/>).</summary>
        public int Code { get; }

        /// <summary>
        /// Throws for a failed C call. The thread-local last error is read on the same thread, right
        /// after the call, so it is the message of exactly this failure.
        /// </summary>
        internal static void Check(int rc)
        {
            if (rc != 0)
                throw FromLastError(rc);
        }

        internal static SFTPKitException FromLastError(int rc)
        {
            string message = N.sftpkit_last_error_message();
            if (string.IsNullOrEmpty(message))
                message = "sftpkit error " + rc;
            return new SFTPKitException(rc, message);
        }

        /// <inheritdoc/>
        public override string ToString() => "SFTPKitException(" + Code + "): " + base.ToString();
    }
}
