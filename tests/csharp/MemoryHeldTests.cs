#nullable enable
using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>Tests that measure the process's managed heap: run alone, after every parallel test.</summary>
[CollectionDefinition("alone", DisableParallelization = true)]
public class AloneCollection
{
}

/// <summary>
/// What MemoryFileSystem holds against what its quota charges, through real clients: the quota is
/// the bound on what a client can make the server hold, so memory must stay within a small factor
/// of it. Measured as the managed heap's growth after full collections (the pages are managed arrays).
/// </summary>
[Collection("alone")]
public class MemoryHeldTests
{
    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [Fact]
    public void ManySmallFilesHoldAboutWhatTheQuotaCharges()
    {
        const int clients = 4, perClient = 500;
        var fs = new MemoryFileSystem(maxTotalBytes: 64L << 20);
        using var t = new TestServer(srv =>
        {
            srv.BaseDir = "";
            srv.UseFileSystem(fs);
        });
        var connected = Enumerable.Range(0, clients).Select(_ => t.Client()).ToList();
        try
        {
            for (int i = 0; i < clients; i++)
            {
                connected[i].Connect();
                connected[i].CreateDirectory($"/c{i}");
                connected[i].WriteAllBytes($"/c{i}/warm", new byte[] { 1 }); // first-use allocations before the baseline
            }
            long heapBefore = Heap(), chargedBefore = fs.TotalBytes;
            var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            var threads = Enumerable.Range(0, clients).Select(i => new Thread(() =>
            {
                try
                {
                    for (int k = 0; k < perClient; k++)
                        connected[i].WriteAllBytes($"/c{i}/f{k:D4}", new[] { (byte)k }); // one byte each
                }
                catch (Exception ex)
                {
                    errors.Enqueue(ex);
                }
            })).ToList();
            threads.ForEach(th => th.Start());
            threads.ForEach(th => Assert.True(th.Join(TimeSpan.FromSeconds(120))));
            Assert.Empty(errors);
            long held = Heap() - heapBefore, charged = fs.TotalBytes - chargedBefore;

            Assert.Equal(clients * (perClient + 1), Enumerable.Range(0, clients).Sum(i => fs.List($"/c{i}").Count()));
            Assert.Equal(new[] { (byte)7 }, fs.ReadAllBytes("/c3/f0007"));
            // A one-byte file held a whole 64 KiB page: 2000 files held 125 MiB for ~1 MiB charged.
            // Besides the files: each server thread's READ/WRITE buffer, made at its first WRITE
            // (MaxWriteLength, up to WorkerThreads = 16 of them), and 1 MiB for the rest.
            long slack = 16L * SFTPServer.MaxWriteLength + (1 << 20);
            Assert.True(held < 2 * charged + slack,
                $"{clients * perClient} one-byte files hold {held} bytes of heap for {charged} bytes charged");
        }
        finally
        {
            connected.ForEach(c => c.Dispose());
        }
    }
}
