#nullable enable
using System;

namespace SFTPKit
{
    /// <summary>
    /// Thrown by a file system provider (<see cref="ISftpFileSystem"/>) to fail a request: the client
    /// receives <see cref="Status"/> (as its SFTP status, see docs/file-system.md "OperationStatus")
    /// and <see cref="Exception.Message"/> as the status text. Any other exception fails the request
    /// as well (FileNotFoundException / DirectoryNotFoundException: no such file,
    /// UnauthorizedAccessException: permission denied, NotSupportedException: unsupported, anything
    /// else: failure), with the standard text, and is logged as a handler error.
    /// </summary>
    public class SftpException : Exception
    {
        /// <summary>"Failed in some other way": the client gets SSH_FX_FAILURE.</summary>
        public const OperationStatus Failure = 0;

        /// <summary>Creates the exception; <paramref name="message"/> is what the client reads.</summary>
        public SftpException(OperationStatus status, string message) : base(message)
        {
            Status = status;
        }

        /// <summary>Creates the exception with an inner cause (not shown to the client).</summary>
        public SftpException(OperationStatus status, string message, Exception? inner) : base(message, inner)
        {
            Status = status;
        }

        /// <summary>The status the client receives.</summary>
        public OperationStatus Status { get; }

        /// <summary>No such file or directory.</summary>
        public static SftpException NoSuchFile(string path) => new(OperationStatus.ostNoSuchFile, "No such file: " + path);

        /// <summary>Permission denied.</summary>
        public static SftpException AccessDenied(string message) => new(OperationStatus.ostAccessDenied, message);

        /// <summary>The file system does not do this.</summary>
        public static SftpException Unsupported(string what) => new(OperationStatus.ostUnsupported, what + " is not supported");

        /// <summary>Any other failure, with a text for the client.</summary>
        public static SftpException Failed(string message) => new(Failure, message);
    }
}
