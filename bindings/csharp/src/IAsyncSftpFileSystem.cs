#nullable enable
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace SFTPKit
{
    /// <summary>
    /// The asynchronous form of <see cref="ISftpFileSystem"/> for back-ends that answer later (an
    /// object store, a database, another service), one object per session (made by the factory given
    /// to <see cref="SFTPServer.UseAsyncFileSystem(Func{SftpSession, IAsyncSftpFileSystem})"/>).
    /// Paths are normalized as for <see cref="ISftpFileSystem"/>; every method completes with its
    /// result or fails with <see cref="SftpException"/> (status and text to the client); any other
    /// exception fails the request with the standard text and is logged
    /// (<see cref="SFTPServer.Logger"/> / <see cref="SFTPServer.HandlerException"/>).
    /// <para>Threads: reads and writes (<see cref="IAsyncSftpFile"/>) are deferred requests: they
    /// hold no server thread while they wait, one session's READs overlap (even on one file: they are
    /// positional), and their token is cancelled when the client disconnects, the connection is
    /// dropped or the server stops. The other methods are awaited on the server's thread (the C
    /// library cannot complete them later); their token is cancelled when the session ends.</para>
    /// <para>An object that is IAsyncDisposable or IDisposable is disposed when its session ends.</para>
    /// </summary>
    public interface IAsyncSftpFileSystem
    {
        /// <summary>OPEN (flags as for <see cref="ISftpFileSystem.OpenFile"/>). Disposing the file is the CLOSE.</summary>
        ValueTask<IAsyncSftpFile> OpenFileAsync(string path, FileOpenMode mode, CancellationToken cancellationToken);

        /// <summary>STAT, LSTAT; FSTAT of an open file.</summary>
        ValueTask<SftpFileInfo> GetInfoAsync(string path, CancellationToken cancellationToken);

        /// <summary>OPENDIR/READDIR: the entries, read as the client asks.</summary>
        IAsyncEnumerable<SftpFileInfo> ListAsync(string path, CancellationToken cancellationToken);

        /// <summary>MKDIR.</summary>
        ValueTask CreateDirectoryAsync(string path, CancellationToken cancellationToken);

        /// <summary>RMDIR (and REMOVE of a path <see cref="GetInfoAsync"/> says is a directory).</summary>
        ValueTask RemoveDirectoryAsync(string path, CancellationToken cancellationToken);

        /// <summary>REMOVE.</summary>
        ValueTask RemoveFileAsync(string path, CancellationToken cancellationToken);

        /// <summary>RENAME and posix-rename.</summary>
        ValueTask RenameAsync(string oldPath, string newPath, CancellationToken cancellationToken);

        /// <summary>SETSTAT: only the members of <paramref name="change"/> that are set.</summary>
        ValueTask SetInfoAsync(string path, SftpFileChange change, CancellationToken cancellationToken) =>
            throw SftpException.Unsupported("changing attributes");

        /// <summary>SYMLINK (<paramref name="hard"/> false) and hardlink@openssh.com.</summary>
        ValueTask CreateLinkAsync(string linkPath, string targetPath, bool hard, CancellationToken cancellationToken) =>
            throw SftpException.Unsupported("links");

        /// <summary>REALPATH (default: the path, normalized).</summary>
        ValueTask<string> RealPathAsync(string path, CancellationToken cancellationToken) =>
            new ValueTask<string>(SftpPath.Normalize(path));
    }

    /// <summary>
    /// An open file of an <see cref="IAsyncSftpFileSystem"/>: positional reads and writes, so
    /// several READs of one handle run at the same time (the server never overlaps a WRITE with
    /// anything else on its handle, and sends the replies in the order the requests came).
    /// DisposeAsync is the CLOSE: a failure there fails the CLOSE (for example a failed upload).
    /// </summary>
    public interface IAsyncSftpFile : IAsyncDisposable
    {
        /// <summary>Reads up to buffer.Length bytes at <paramref name="offset"/>; 0 = end of file.</summary>
        ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken);

        /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> (a gap is zero-filled).</summary>
        ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

        /// <summary>FSETSTAT with a size: truncate or extend the open file.</summary>
        ValueTask SetLengthAsync(long length, CancellationToken cancellationToken) =>
            throw SftpException.Unsupported("changing the size of an open file");
    }
}
