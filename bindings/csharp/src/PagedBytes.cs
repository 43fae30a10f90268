#nullable enable
using System;
using System.Numerics;

namespace SFTPKit
{
    /// <summary>
    /// A file's bytes in fixed 64 KiB pages (MemoryFileSystem). One byte[] that regrows copied the
    /// whole file at every doubling (a 128 MiB upload copied ~128 MiB more and left the old arrays
    /// to the collector); pages are allocated as writes reach them, growth copies only the page
    /// table, a hole is a missing page that reads as zeros, and truncation hands whole pages back
    /// to the pool. Not thread-safe: the caller holds the file's lock.
    /// Page 0 alone starts at the size the first write needs (64 bytes at least) and doubles up to
    /// a whole page, as Java's MemoryNode and Python's memory.py do: the quota charges a file's
    /// length, and a one-byte file holding 64 KiB would let many small files hold far more memory
    /// than they are charged. Its growth copies at most 32 KiB, once per file. A short page 0 reads
    /// as zeros past its end and never goes to the pool.
    /// Invariant: every byte of an allocated page that was not written since the page was taken
    /// (or that lies at or past Length) is zero, so a hole or a regrown tail always reads zeros.
    /// </summary>
    internal sealed class PagedBytes
    {
        internal const int PageShift = 16;
        internal const int PageSize = 1 << PageShift;
        private const int PageMask = PageSize - 1;
        private const int SmallestFirstPage = 64;

        private readonly PagePool _pool;
        private byte[]?[] _pages = Array.Empty<byte[]?>();

        internal PagedBytes(PagePool pool) => _pool = pool;

        internal long Length { get; private set; }

        /// <summary>Copies up to dest.Length bytes at offset into dest; the count (0 at or past the end).</summary>
        internal int Read(long offset, Span<byte> dest)
        {
            if (offset >= Length)
                return 0;
            int count = (int)Math.Min(dest.Length, Length - offset);
            for (int done = 0; done < count;)
            {
                long pos = offset + done;
                int page = (int)(pos >> PageShift), at = (int)(pos & PageMask);
                int n = Math.Min(PageSize - at, count - done);
                byte[]? p = page < _pages.Length ? _pages[page] : null;
                int have = p == null ? 0 : Math.Clamp(p.Length - at, 0, n); // a short page 0 ends early
                if (have > 0)
                    p!.AsSpan(at, have).CopyTo(dest.Slice(done));
                if (have < n)
                    dest.Slice(done + have, n - have).Clear(); // a hole, or past a short page's end
                done += n;
            }
            return count;
        }

        /// <summary>Writes src at offset; the length grows to at least offset + src.Length.</summary>
        internal void Write(long offset, ReadOnlySpan<byte> src)
        {
            long end = offset + src.Length;
            if (end > Length)
                Length = end; // first: if a page allocation fails midway, what was copied lies inside Length
            if (src.Length == 0)
                return;
            EnsureTable((int)((end - 1) >> PageShift) + 1);
            for (int done = 0; done < src.Length;)
            {
                long pos = offset + done;
                int page = (int)(pos >> PageShift), at = (int)(pos & PageMask);
                int n = Math.Min(PageSize - at, src.Length - done);
                byte[] p = PageFor(page, at, n);
                src.Slice(done, n).CopyTo(p.AsSpan(at));
                done += n;
            }
        }

        /// <summary>Truncates (whole pages past the end go back to the pool) or extends (a hole).</summary>
        internal void SetLength(long length)
        {
            if (length < Length)
            {
                int keep = (int)((length + PageMask) >> PageShift); // pages still (partly) inside
                for (int i = keep; i < _pages.Length; i++)
                {
                    if (_pages[i] is byte[] gone)
                    {
                        _pool.Give(gone);
                        _pages[i] = null;
                    }
                }
                int tail = (int)(length & PageMask);
                if (tail != 0 && keep - 1 < _pages.Length && _pages[keep - 1] is byte[] last)
                {
                    // the cut-off end of the last page: zero, so extending again reads zeros
                    long pageStart = (long)(keep - 1) << PageShift;
                    int oldEnd = (int)Math.Min(last.Length, Length - pageStart); // a short page 0 ends at its length
                    if (oldEnd > tail)
                        last.AsSpan(tail, oldEnd - tail).Clear();
                }
                if (keep == 0)
                    _pages = Array.Empty<byte[]?>();
            }
            Length = length;
        }

        /// <summary>A copy of the whole content.</summary>
        internal byte[] ToArray()
        {
            var copy = new byte[Length];
            Read(0, copy);
            return copy;
        }

        /// <summary>Page `index` with room for a write of n bytes at `at` (page 0 grows, see the class comment).</summary>
        private byte[] PageFor(int index, int at, int n)
        {
            byte[]? p = _pages[index];
            if (p != null && p.Length >= at + n)
                return p;
            if (index != 0)
                return _pages[index] = Take(at, n); // p is null: only page 0 is ever short
            int size = (int)Math.Min(PageSize, BitOperations.RoundUpToPowerOf2((uint)Math.Max(SmallestFirstPage, at + n)));
            if (p != null)
                size = Math.Min(PageSize, Math.Max(size, 2 * p.Length));
            byte[] grown;
            if (size < PageSize)
                grown = new byte[size]; // zeroed; too small for the pool
            else if (p == null)
                grown = Take(at, n);
            else
            {
                grown = _pool.Take();
                grown.AsSpan(p.Length).Clear(); // a pooled page holds old data; what p holds is copied below
            }
            p?.CopyTo(grown, 0);
            return _pages[0] = grown;
        }

        // A page for a write of n bytes at `at`: pooled pages hold old data and new ones are not
        // zeroed, so what the write does not cover is cleared (a sequential upload clears nothing).
        private byte[] Take(int at, int n)
        {
            byte[] p = _pool.Take();
            p.AsSpan(0, at).Clear();
            p.AsSpan(at + n).Clear();
            return p;
        }

        private void EnsureTable(int pages)
        {
            if (pages <= _pages.Length)
                return;
            // doubling: the table (8 bytes per 64 KiB page) is what is copied, never the pages; it
            // starts at what is needed, so a small file's table is one slot
            Array.Resize(ref _pages, Math.Max(pages, 2 * _pages.Length));
        }
    }

    /// <summary>
    /// The spare pages of one MemoryFileSystem: truncated and removed files give their pages back
    /// and new writes take them, so a steady upload/delete cycle reuses the same arrays instead of
    /// making the collector reclaim and the allocator zero fresh ones. Bounded (what is kept beyond
    /// the bound goes to the collector). New pages are allocated on the pinned object heap: they
    /// are long-lived and all alike, and the collector never copies them when it compacts.
    /// </summary>
    internal sealed class PagePool
    {
        private readonly object _lock = new();
        private readonly byte[]?[] _spare;
        private int _count;

        internal PagePool(int maxPages) => _spare = new byte[Math.Max(0, maxPages)][];

        internal int Count
        {
            get
            {
                lock (_lock)
                    return _count;
            }
        }

        internal byte[] Take()
        {
            lock (_lock)
            {
                if (_count > 0)
                {
                    byte[] p = _spare[--_count]!;
                    _spare[_count] = null;
                    return p;
                }
            }
            return GC.AllocateUninitializedArray<byte>(PagedBytes.PageSize, pinned: true);
        }

        internal void Give(byte[] page)
        {
            if (page.Length != PagedBytes.PageSize)
                return; // a file's short first page: the collector's
            lock (_lock)
            {
                if (_count < _spare.Length)
                    _spare[_count++] = page;
            }
        }
    }
}
