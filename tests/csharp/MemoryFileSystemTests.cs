#nullable enable
using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>
/// MemoryFileSystem's storage on its own (no server): file data in 64 KiB pages, holes and
/// truncated tails that read zeros, the quota, concurrent writers, the asynchronous view, and a
/// spare-page pool that keeps an upload/delete cycle from allocating.
/// </summary>
public class MemoryFileSystemTests
{
    private const int Page = 64 * 1024;

    /// <summary>What a file or directory named name costs against the quota beyond its data.</summary>
    internal static long Entry(string name) => 512 + System.Text.Encoding.UTF8.GetByteCount(name);

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static Stream Create(MemoryFileSystem fs, string path) =>
        ((ISftpFileSystem)fs).OpenFile(path, FileOpenMode.cfmWrite | FileOpenMode.cfmCreate | FileOpenMode.cfmRead);

    private static void WriteAt(Stream s, long offset, byte[] data)
    {
        s.Position = offset;
        s.Write(data);
    }

    private static byte[] ReadAt(Stream s, long offset, int count)
    {
        s.Position = offset;
        var buf = new byte[count];
        int got = 0, n;
        while (got < count && (n = s.Read(buf.AsSpan(got))) > 0)
            got += n;
        return buf[..got];
    }

    [Fact]
    public void WritesAndReadsAcrossPageBoundaries()
    {
        var fs = new MemoryFileSystem();
        using Stream s = Create(fs, "/f");
        byte[] a = Pattern(10, 1), b = Pattern(Page, 2), c = Pattern(3 * Page + 17, 3);
        WriteAt(s, Page - 3, a);       // 3 bytes in page 0, 7 in page 1
        WriteAt(s, 2 * Page, b);       // exactly page 2
        WriteAt(s, 3 * Page - 5, c);   // ends inside page 6, overwrites the end of page 2
        long end = 3 * Page - 5 + c.Length;
        Assert.Equal(end, s.Length);

        byte[] expected = new byte[end];
        a.CopyTo(expected, Page - 3);
        b.CopyTo(expected, 2 * Page);
        c.CopyTo(expected, 3 * Page - 5);
        Assert.Equal(expected, fs.ReadAllBytes("/f"));
        Assert.Equal(expected, ReadAt(s, 0, (int)end + 100)); // one read over seven pages, stopped at the end
        Assert.Equal(expected[(Page - 1)..(Page + 1)], ReadAt(s, Page - 1, 2)); // two bytes, two pages
        Assert.Equal(end + Entry("f"), fs.TotalBytes);
    }

    [Fact]
    public void SparseWritesReadZeros()
    {
        var fs = new MemoryFileSystem();
        fs.WriteAllBytes("/junk", Pattern(8 * Page, 9));
        fs.RemoveFile("/junk"); // its pages, full of data, are spare now: the sparse file gets them
        using Stream s = Create(fs, "/sparse");
        byte[] tail = Pattern(5, 4);
        WriteAt(s, 5 * Page + 100, tail); // pages 0-4 never written
        WriteAt(s, 10, new byte[] { 7 });  // a page in the middle of the hole, mostly unwritten
        byte[] all = fs.ReadAllBytes("/sparse");
        Assert.Equal(5 * Page + 105, all.Length);
        Assert.Equal(7, all[10]);
        all[10] = 0;
        Assert.All(all[..(5 * Page + 100)], x => Assert.Equal(0, x));
        Assert.Equal(tail, all[(5 * Page + 100)..]);
        Assert.Equal(all.Length + Entry("sparse"), fs.TotalBytes); // the quota counts the size, holes included
    }

    [Theory]
    [InlineData(70_000)]   // inside a page
    [InlineData(2 * Page)] // on a page boundary
    [InlineData(1)]
    [InlineData(0)]
    public void TruncateThenExtendReadsZeros(int cut)
    {
        var fs = new MemoryFileSystem();
        fs.WriteAllBytes("/junk", Pattern(8 * Page, 9));
        fs.RemoveFile("/junk"); // spare pages full of data: what the file gets must still read zeros
        byte[] data = Pattern(3 * Page + 1000, 5);
        using (Stream s = Create(fs, "/t"))
        {
            s.Write(data);
            s.SetLength(cut);
            Assert.Equal(cut + Entry("t"), fs.TotalBytes);
            Assert.Equal(data[..cut], fs.ReadAllBytes("/t"));
            s.SetLength(data.Length); // the old bytes must not come back
            byte[] back = fs.ReadAllBytes("/t");
            Assert.Equal(data[..cut], back[..cut]);
            Assert.All(back[cut..], x => Assert.Equal(0, x));
            Assert.Equal(data.Length + Entry("t"), fs.TotalBytes);
        }
        // SETSTAT with a size takes the same path
        fs.SetInfo("/t", new SftpFileChange { Length = cut });
        fs.SetInfo("/t", new SftpFileChange { Length = cut + 3 });
        Assert.Equal(new byte[3], fs.ReadAllBytes("/t")[cut..]);
        // and a write after the hole keeps it zero
        using (Stream s = Create(fs, "/t"))
            WriteAt(s, cut + 10, new byte[] { 1 });
        Assert.Equal(new byte[10], fs.ReadAllBytes("/t")[cut..(cut + 10)]);
    }

    [Fact]
    public void QuotaIsTheSumOfFileSizesAndEntries()
    {
        long entries = Entry("full") + Entry("more");
        var fs = new MemoryFileSystem(maxTotalBytes: 100_000 + entries);
        byte[] data = Pattern(100_000, 6);
        fs.WriteAllBytes("/full", data);
        Assert.Equal(100_000 + Entry("full"), fs.TotalBytes);

        using (Stream s = Create(fs, "/more")) // the last entry that fits
        {
            var ex = Assert.Throws<SftpException>(() => s.Write(new byte[1]));
            Assert.Equal(SftpException.Failure, ex.Status);
            Assert.Equal("quota exceeded", ex.Message);
            Assert.Equal(0, s.Length); // a refused write changes nothing
            Assert.Throws<SftpException>(() => s.SetLength(1));
        }
        Assert.Equal(fs.MaxTotalBytes, fs.TotalBytes);
        Assert.Equal(data, fs.ReadAllBytes("/full"));
        // nothing more fits, not even an empty entry
        Assert.Equal("quota exceeded", Assert.Throws<SftpException>(() => Create(fs, "/x")).Message);
        Assert.Throws<SftpException>(() => fs.CreateDirectory("/d"));
        Assert.False(fs.Exists("/x") || fs.Exists("/d"));

        fs.RemoveFile("/full"); // its bytes and its entry go back to the quota
        Assert.Equal(Entry("more"), fs.TotalBytes);
        long room = fs.MaxTotalBytes - fs.TotalBytes;
        using (Stream s = Create(fs, "/more"))
        {
            // a hole counts: a write whose end passes the quota is refused whatever it writes
            Assert.Throws<SftpException>(() => WriteAt(s, room - 1, new byte[2]));
            WriteAt(s, room - 1, new byte[1]);
            Assert.Equal(room, s.Length);
        }
        Assert.Equal(fs.MaxTotalBytes, fs.TotalBytes);
        fs.SetInfo("/more", new SftpFileChange { Length = 0 });
        Assert.Equal(Entry("more"), fs.TotalBytes);
    }

    [Fact]
    public void EntriesAreChargedWhenCreatedRefundedWhenRemovedAdjustedWhenRenamed()
    {
        var fs = new MemoryFileSystem();
        fs.CreateDirectory("/dir");
        fs.WriteAllBytes("/dir/sub/f\u00e9", new byte[3]); // creates /dir/sub; the name is 3 UTF-8 bytes
        Assert.Equal(Entry("dir") + Entry("sub") + Entry("f\u00e9") + 3, fs.TotalBytes);
        // a rename changes the renamed entry's name only: what it contains keeps its names
        fs.Rename("/dir", "/directory");
        Assert.Equal(Entry("directory") + Entry("sub") + Entry("f\u00e9") + 3, fs.TotalBytes);
        fs.RemoveFile("/directory/sub/f\u00e9");
        fs.RemoveDirectory("/directory/sub");
        Assert.Equal(Entry("directory"), fs.TotalBytes);
        fs.RemoveDirectory("/directory");
        Assert.Equal(0, fs.TotalBytes);

        // a rename to a longer name that does not fit changes nothing
        var full = new MemoryFileSystem(maxTotalBytes: Entry("a") + Entry("b"));
        full.CreateDirectory("/a");
        full.CreateDirectory("/b");
        var ex = Assert.Throws<SftpException>(() => full.Rename("/a", "/aa"));
        Assert.Equal("quota exceeded", ex.Message);
        Assert.True(full.Exists("/a"));
        Assert.False(full.Exists("/aa"));
        full.Rename("/b", "/c"); // as long: fits
        Assert.Equal(full.MaxTotalBytes, full.TotalBytes);
    }

    [Fact]
    public void AFilesFirstPageGrowsFromSmallAndReadsRight()
    {
        var fs = new MemoryFileSystem();
        fs.WriteAllBytes("/junk", Pattern(4 * Page, 11));
        fs.RemoveFile("/junk"); // spare pages full of data: a first page that grows to a whole one must read zeros
        using Stream s = Create(fs, "/grow");
        var expected = new byte[Page + 50];
        void Put(int at, byte[] data)
        {
            WriteAt(s, at, data);
            data.CopyTo(expected, at);
        }
        Put(0, new byte[] { 1 });            // a 64-byte first page
        Put(50, Pattern(100, 12));           // grows to 256, keeping the first byte
        Put(3000, Pattern(5, 13));           // to 4 KiB, with a gap of zeros
        Assert.Equal(expected[..3005], fs.ReadAllBytes("/grow"));
        Assert.Equal(expected[100..3005], ReadAt(s, 100, 10_000)); // a read past a short page's end
        s.SetLength(60);                     // cut inside the short page: the cut-off part reads zeros again
        Array.Clear(expected, 60, expected.Length - 60);
        Put(40_000, Pattern(7, 14));         // to a whole page (from the pool): the old short page's bytes move over
        Put(Page + 10, Pattern(40, 15));     // page 1: a whole page at once
        Assert.Equal(expected, fs.ReadAllBytes("/grow"));
        Assert.Equal(expected.Length + Entry("grow"), fs.TotalBytes);
        s.SetLength(0);
        Assert.Equal(Entry("grow"), fs.TotalBytes);
    }

    [Fact]
    public void AFileRemovedWhileOpenCannotBeWrittenOrResized()
    {
        var fs = new MemoryFileSystem(maxTotalBytes: 1 << 20);
        using Stream s = Create(fs, "/gone");
        s.Write(new byte[1000]);
        fs.RemoveFile("/gone");
        Assert.Equal(0, fs.TotalBytes); // its bytes and its entry back at once
        Assert.Equal(OperationStatus.ostNoSuchFile, Assert.Throws<SftpException>(() => s.Write(new byte[10])).Status);
        Assert.Equal(OperationStatus.ostNoSuchFile, Assert.Throws<SftpException>(() => s.SetLength(1 << 20)).Status);
        Assert.Equal(0, fs.TotalBytes); // neither was charged for a file nobody can reach
    }

    [Fact]
    public void ConcurrentWritersOnDifferentFiles()
    {
        var fs = new MemoryFileSystem();
        const int writers = 8, size = 3 * Page + 12_345;
        var files = Enumerable.Range(0, writers).Select(i => Pattern(size, 100 + i)).ToArray();
        int mixed = 0;
        using var start = new Barrier(writers);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, writers).Select(i => new Thread(() =>
        {
            try
            {
                Writer(i);
            }
            catch (Exception ex)
            {
                errors.Enqueue(ex); // reported by the test, not a crash of the test host
            }
        })).ToList();
        void Writer(int i)
        {
            var rnd = new Random(i);
            using Stream s = Create(fs, $"/w{i}");
            start.SignalAndWait();
            // chunks of every size, so the writers take and fill pages at the same time
            for (int at = 0; at < size;)
            {
                int n = Math.Min(rnd.Next(1, 20_000), size - at);
                WriteAt(s, at, files[i][at..(at + n)]);
                at += n;
            }
            s.SetLength(size / 2); // and give pages back to the shared spare pool meanwhile
            WriteAt(s, size / 2, files[i][(size / 2)..]);
            // churn: every writer takes and gives pages at once; a page handed to two files shows
            // up as another writer's bytes in this one
            using Stream churn = Create(fs, $"/churn{i}");
            byte[] mine = files[i][..(2 * Page)];
            for (int k = 0; k < 300; k++)
            {
                WriteAt(churn, 0, mine);
                if (!ReadAt(churn, 0, mine.Length).AsSpan().SequenceEqual(mine))
                    Interlocked.Increment(ref mixed);
                churn.SetLength(0);
            }
        }
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(60))));
        Assert.Empty(errors);
        for (int i = 0; i < writers; i++)
            Assert.Equal(files[i], fs.ReadAllBytes($"/w{i}"));
        Assert.Equal(0, mixed);
        long entries = Enumerable.Range(0, writers).Sum(i => Entry($"w{i}") + Entry($"churn{i}"));
        Assert.Equal((long)writers * size + entries, fs.TotalBytes);
    }

    [Fact]
    public async Task AsyncViewSeesTheSamePages()
    {
        var mem = new MemoryFileSystem();
        IAsyncSftpFileSystem fs = mem;
        CancellationToken ct = CancellationToken.None;
        byte[] a = Pattern(Page + 10, 7);
        await using (IAsyncSftpFile f = await fs.OpenFileAsync("/a", FileOpenMode.cfmWrite | FileOpenMode.cfmCreate, ct))
        {
            await f.WriteAsync(Page - 5, a, ct);          // over a boundary, after a hole
            var buf = new byte[Page * 3];
            int n = await f.ReadAsync(Page - 7, buf, ct);  // two zeros of the hole, then the data
            Assert.Equal(a.Length + 2, n);
            Assert.Equal(new byte[2], buf[..2]);
            Assert.Equal(a, buf[2..n]);
            Assert.Equal(0, await f.ReadAsync(Page - 5 + a.Length, buf, ct)); // at the end: 0

            await f.SetLengthAsync(Page, ct);              // cut inside the data
            await f.SetLengthAsync(2 * Page, ct);          // extend again: zeros, not the old bytes
            n = await f.ReadAsync(Page - 5, buf, ct);
            Assert.Equal(Page + 5, n);
            Assert.Equal(a[..5], buf[..5]);
            Assert.All(buf[5..n], x => Assert.Equal(0, x));
        }
        // the synchronous view reads what the asynchronous one wrote
        byte[] all = mem.ReadAllBytes("/a");
        Assert.Equal(2 * Page, all.Length);
        Assert.Equal(a[..5], all[(Page - 5)..Page]);
        Assert.Equal(2 * Page, (await fs.GetInfoAsync("/a", ct)).Length);
        Assert.Equal(2 * Page + Entry("a"), mem.TotalBytes);
    }

    [Fact]
    public void UploadDeleteCycleReusesPages()
    {
        var fs = new MemoryFileSystem();
        byte[] chunk = Pattern(32 * 1024, 8);
        void Cycle()
        {
            using (Stream s = Create(fs, "/cycle"))
                for (int i = 0; i < 256; i++) // 8 MiB, in SFTP-sized writes
                    s.Write(chunk);
            fs.RemoveFile("/cycle");
        }
        Cycle(); // the pages exist now, and are spare after the remove
        long before = GC.GetAllocatedBytesForCurrentThread();
        Cycle();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // the second cycle takes its 128 pages from the pool: what it allocates is bookkeeping
        Assert.True(allocated < 1 << 20, $"an 8 MiB upload/delete cycle allocated {allocated} bytes");
        Assert.Equal(0, fs.TotalBytes);
    }
}
