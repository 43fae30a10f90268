#nullable enable
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace SFTPKit
{
    // MemoryFileSystem in the asynchronous provider form too (srv.UseAsyncFileSystem(new
    // MemoryFileSystem())): every call completes at once, but reads and writes are positional, so
    // this is also the shape a real asynchronous back-end takes (and what benchmarks compare).
    public partial class MemoryFileSystem : IAsyncSftpFileSystem
    {
        ValueTask<IAsyncSftpFile> IAsyncSftpFileSystem.OpenFileAsync(string path, FileOpenMode mode, CancellationToken cancellationToken)
        {
            Node n = OpenNode(path, mode, out bool write);
            return new ValueTask<IAsyncSftpFile>(new NodeFile(this, n, write));
        }

        ValueTask<SftpFileInfo> IAsyncSftpFileSystem.GetInfoAsync(string path, CancellationToken cancellationToken) =>
            new(GetInfo(path));

        async IAsyncEnumerable<SftpFileInfo> IAsyncSftpFileSystem.ListAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask.ConfigureAwait(false);
            foreach (SftpFileInfo info in List(path)) // a snapshot, taken at the first MoveNextAsync
                yield return info;
        }

        ValueTask IAsyncSftpFileSystem.CreateDirectoryAsync(string path, CancellationToken cancellationToken)
        {
            CreateDirectory(path);
            return default;
        }

        ValueTask IAsyncSftpFileSystem.RemoveDirectoryAsync(string path, CancellationToken cancellationToken)
        {
            RemoveDirectory(path);
            return default;
        }

        ValueTask IAsyncSftpFileSystem.RemoveFileAsync(string path, CancellationToken cancellationToken)
        {
            RemoveFile(path);
            return default;
        }

        ValueTask IAsyncSftpFileSystem.RenameAsync(string oldPath, string newPath, CancellationToken cancellationToken)
        {
            Rename(oldPath, newPath);
            return default;
        }

        ValueTask IAsyncSftpFileSystem.SetInfoAsync(string path, SftpFileChange change, CancellationToken cancellationToken)
        {
            SetInfo(path, change);
            return default;
        }

        /// <summary>An open file: positional reads and writes under the node's lock.</summary>
        private sealed class NodeFile : IAsyncSftpFile
        {
            private readonly MemoryFileSystem _fs;
            private readonly Node _n;
            private readonly bool _write;

            internal NodeFile(MemoryFileSystem fs, Node n, bool write)
            {
                _fs = fs;
                _n = n;
                _write = write;
            }

            public ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
            {
                lock (_n)
                {
                    if (offset >= _n.Data.Length)
                        return new ValueTask<int>(0);
                    int n = _n.Data.Read(offset, buffer.Span);
                    _n.ATime = DateTimeOffset.UtcNow;
                    return new ValueTask<int>(n);
                }
            }

            public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
            {
                if (!_write)
                    throw SftpException.AccessDenied("the file is open for reading only");
                lock (_n)
                    _fs.WriteAt(_n, offset, data.Span);
                return default;
            }

            public ValueTask SetLengthAsync(long length, CancellationToken cancellationToken)
            {
                if (!_write)
                    throw SftpException.AccessDenied("the file is open for reading only");
                lock (_n)
                    _fs.SetLength(_n, length);
                return default;
            }

            public ValueTask DisposeAsync() => default;
        }
    }
}
