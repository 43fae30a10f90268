#nullable enable
using System;
using System.Collections.Generic;
using System.IO;

namespace SFTPKit
{
    /// <summary>
    /// A file system served over SFTP, one object per session (made by the factory given to
    /// <see cref="SFTPServer.UseFileSystem(System.Func{SftpSession, ISftpFileSystem})"/>). Paths are the client's, normalized: absolute, "/"
    /// separated, no "." or ".." ("/" is the root). Every method returns its result or throws
    /// <see cref="SftpException"/> with the status and the text the client receives.
    /// <para>Threads: methods run on the server's threads, synchronously (the client's request
    /// waits). Different sessions call their own objects at the same time; one session's calls
    /// may also overlap (clients pipeline requests), so a shared back-end must be thread-safe. The
    /// streams from <see cref="OpenFile"/> are used by one request at a time.</para>
    /// <para>An object that is IDisposable is disposed when its session ends.</para>
    /// </summary>
    public interface ISftpFileSystem
    {
        /// <summary>
        /// Opens a file (OPEN). <paramref name="mode"/> carries the client's flags: cfmRead, cfmWrite,
        /// cfmAppend, cfmCreate, cfmTruncate, cfmExcl. Reads and writes then go to the stream at the
        /// client's offsets (Position is set first when the stream CanSeek; a stream that cannot
        /// seek serves sequential transfers only); disposing it is the CLOSE, and an exception from
        /// Dispose fails the CLOSE (for example a failed upload to a back-end).
        /// </summary>
        Stream OpenFile(string path, FileOpenMode mode);

        /// <summary>Attributes of a file or directory (STAT, LSTAT; FSTAT of an open file).</summary>
        SftpFileInfo GetInfo(string path);

        /// <summary>The entries of a directory (OPENDIR/READDIR), read lazily as the client asks.</summary>
        IEnumerable<SftpFileInfo> List(string path);

        /// <summary>MKDIR.</summary>
        void CreateDirectory(string path);

        /// <summary>RMDIR (and REMOVE of a path <see cref="GetInfo"/> says is a directory).</summary>
        void RemoveDirectory(string path);

        /// <summary>REMOVE.</summary>
        void RemoveFile(string path);

        /// <summary>RENAME and posix-rename.</summary>
        void Rename(string oldPath, string newPath);

        /// <summary>SETSTAT / FSETSTAT: only the members of <paramref name="change"/> that are set.</summary>
        void SetInfo(string path, SftpFileChange change) => throw SftpException.Unsupported("changing attributes");

        /// <summary>SYMLINK (<paramref name="hard"/> false) and hardlink@openssh.com.</summary>
        void CreateLink(string linkPath, string targetPath, bool hard) => throw SftpException.Unsupported("links");

        /// <summary>REALPATH: the canonical absolute path (default: the path, normalized).</summary>
        string RealPath(string path) => SftpPath.Normalize(path);
    }

    /// <summary>Who a file system object serves (given to the factory).</summary>
    public sealed class SftpSession
    {
        internal SftpSession(SFTPServer server, long connectionId, string user, string remoteAddress, int remotePort)
        {
            Server = server;
            ConnectionId = connectionId;
            User = user;
            RemoteAddress = remoteAddress;
            RemotePort = remotePort;
        }

        /// <summary>The server the session belongs to.</summary>
        public SFTPServer Server { get; }

        /// <summary>The connection (as in every event's ConnectionId).</summary>
        public long ConnectionId { get; }

        /// <summary>The user name the client logged in with.</summary>
        public string User { get; }

        /// <summary>The client's address (after any PROXY header).</summary>
        public string RemoteAddress { get; }

        /// <summary>The client's port.</summary>
        public int RemotePort { get; }

        /// <inheritdoc/>
        public override string ToString() => $"{User}@{RemoteAddress}:{RemotePort} (connection {ConnectionId})";
    }

    /// <summary>The attributes of a file or directory, as <see cref="ISftpFileSystem"/> reports them.</summary>
    public sealed record SftpFileInfo
    {
        /// <summary>The entry's name within its directory (a listing shows it).</summary>
        public required string Name { get; init; }

        /// <summary>True for a directory.</summary>
        public bool IsDirectory { get; init; }

        /// <summary>The size in bytes; negative: not known (not sent).</summary>
        public long Length { get; init; } = -1;

        /// <summary>Last modification (null: not sent).</summary>
        public DateTimeOffset? LastWriteTime { get; init; }

        /// <summary>Last access (null: not sent).</summary>
        public DateTimeOffset? LastAccessTime { get; init; }

        /// <summary>Permission bits (the nine rwx bits are sent). Default: 0644 for files, 0755 for directories.</summary>
        public UnixFileMode? Permissions { get; init; }

        /// <summary>Owner name shown in listings' long names (null: the server's default).</summary>
        public string? Owner { get; init; }

        /// <summary>A file entry.</summary>
        public static SftpFileInfo File(string name, long length, DateTimeOffset? lastWrite = null) =>
            new() { Name = name, Length = length, LastWriteTime = lastWrite };

        /// <summary>A directory entry.</summary>
        public static SftpFileInfo Directory(string name, DateTimeOffset? lastWrite = null) =>
            new() { Name = name, IsDirectory = true, Length = 0, LastWriteTime = lastWrite };
    }

    /// <summary>A change the client asked for (SETSTAT): null members are not part of it.</summary>
    public sealed record SftpFileChange
    {
        /// <summary>New size (truncate or extend).</summary>
        public long? Length { get; init; }

        /// <summary>New modification time.</summary>
        public DateTimeOffset? LastWriteTime { get; init; }

        /// <summary>New access time.</summary>
        public DateTimeOffset? LastAccessTime { get; init; }

        /// <summary>New permission bits.</summary>
        public UnixFileMode? Permissions { get; init; }
    }

    /// <summary>Client path helpers for providers.</summary>
    public static class SftpPath
    {
        /// <summary>"/a/./b/../c//" -> "/a/c": absolute, no "." or "..", ".." stops at "/".</summary>
        public static string Normalize(string? path)
        {
            var parts = new List<string>();
            foreach (string p in (path ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (p == ".")
                    continue;
                if (p == "..")
                {
                    if (parts.Count > 0)
                        parts.RemoveAt(parts.Count - 1);
                    continue;
                }
                parts.Add(p);
            }
            return "/" + string.Join('/', parts);
        }

        /// <summary>The parent of a normalized path ("/" for "/" and "/x").</summary>
        public static string Parent(string path)
        {
            int i = path.LastIndexOf('/');
            return i <= 0 ? "/" : path[..i];
        }

        /// <summary>The last component of a normalized path ("/" for "/").</summary>
        public static string Name(string path) => path == "/" ? "/" : path[(path.LastIndexOf('/') + 1)..];
    }
}
