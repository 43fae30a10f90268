#nullable enable
using System;

namespace SFTPKit
{
    /// <summary>
    /// A <see cref="System.IO.Stream"/> from <see cref="ISftpFileSystem.OpenFile"/> that also
    /// implements this is read at the client's offsets without its Position: the provider layer
    /// then serves several READs of one file at once (clients keep up to 64 in flight), where a
    /// plain Stream, having one position, is read one READ at a time. That is what a slow back-end
    /// needs (an object store answering each range in 20-100 ms). Writes still go through
    /// Position and Write, one at a time, and never overlap a read of the same handle.
    /// </summary>
    public interface IPositionalRead
    {
        /// <summary>
        /// Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/> (fewer only at the end
        /// of the file; 0 at or past it). Called from several threads at once: it must not use or
        /// move the stream's Position.
        /// </summary>
        int ReadAt(long offset, Span<byte> buffer);
    }
}
