#nullable enable
using System.Collections.Concurrent;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;
using SFTPKit;
using Xunit;

namespace SFTPKit.Tests;

/// <summary>
/// The file system provider layer (ISftpFileSystem, MemoryFileSystem, SftpException) against a real
/// client (SSH.NET), with no BaseDir: every byte the client sees comes from the provider.
/// </summary>
[Collection("server")]
public class ProviderTests
{
    private static TestServer Serve(Func<SftpSession, ISftpFileSystem> factory, Action<SFTPServer>? more = null) =>
        new(srv =>
        {
            srv.BaseDir = ""; // nothing on disk: a provider that fell through to the local fs would fail
            srv.UseFileSystem(factory);
            more?.Invoke(srv);
        });

    [Fact]
    public void MemoryFileSystemServesEveryOperation()
    {
        var fs = new MemoryFileSystem();
        fs.WriteAllBytes("/README.txt", Encoding.UTF8.GetBytes("in memory\n"));
        using var t = Serve(_ => fs);
        using var c = t.Client();
        c.Connect();
        Assert.Equal("in memory\n", c.ReadAllText("/README.txt"));

        byte[] big = new byte[700_000]; // several READ/WRITE requests, pipelined by the client
        new Random(3).NextBytes(big);
        c.CreateDirectory("/d");
        c.UploadFile(new MemoryStream(big), "/d/big.bin");
        Assert.Equal(big, fs.ReadAllBytes("/d/big.bin"));
        var back = new MemoryStream();
        c.DownloadFile("/d/big.bin", back);
        Assert.Equal(big, back.ToArray());

        Assert.Equal(new[] { "README.txt", "d" }, c.ListDirectory("/").Select(f => f.Name).Where(n => n is not "." and not "..").OrderBy(n => n, StringComparer.Ordinal));
        var attrs = c.GetAttributes("/d/big.bin");
        Assert.Equal(big.Length, attrs.Size);
        Assert.True(c.GetAttributes("/d").IsDirectory);

        c.RenameFile("/d/big.bin", "/d/moved.bin");
        Assert.False(fs.Exists("/d/big.bin"));
        Assert.True(fs.Exists("/d/moved.bin"));

        // SETSTAT: a new mtime and permissions arrive in the provider
        var when = new DateTime(2020, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        var change = c.GetAttributes("/d/moved.bin");
        change.LastWriteTimeUtc = when;
        change.LastAccessTimeUtc = when;
        change.OwnerCanExecute = true;
        c.SetAttributes("/d/moved.bin", change);
        SftpFileInfo info = fs.GetInfo("/d/moved.bin");
        Assert.Equal(new DateTimeOffset(when), info.LastWriteTime);
        Assert.True((info.Permissions!.Value & UnixFileMode.UserExecute) != 0);
        Assert.Equal(when, c.GetAttributes("/d/moved.bin").LastWriteTimeUtc);

        Assert.Throws<SftpPathNotFoundException>(() => c.ReadAllText("/nope"));
        c.DeleteFile("/d/moved.bin");
        Assert.Throws<SftpPermissionDeniedException>(() => c.DeleteDirectory("/")); // the root stays
        c.DeleteDirectory("/d");
        Assert.False(fs.Exists("/d"));
        Assert.Equal(10 + MemoryFileSystemTests.Entry("README.txt"), fs.TotalBytes); // the quota got the removed entries' bytes back
        Assert.Equal("/d", SftpPath.Normalize("/a/../d/."));
        Assert.Equal("/", c.WorkingDirectory);
    }

    [Fact]
    public void TheProviderStatusAndMessageReachTheClient()
    {
        var fs = new Refusing();
        using var t = Serve(_ => fs);
        using var c = t.Client();
        c.Connect();
        var denied = Assert.Throws<SftpPermissionDeniedException>(() => c.ReadAllText("/secret.txt"));
        Assert.Equal("alice's files are closed today", denied.Message);
        var missing = Assert.Throws<SftpPathNotFoundException>(() => c.GetAttributes("/gone"));
        Assert.StartsWith("No such file: /gone", missing.Message); // SSH.NET appends the path
        // an exception that is not an SftpException: standard text, the error is reported
        long before = t.Server.HandlerExceptionCount;
        Assert.Throws<SftpPermissionDeniedException>(() => c.CreateDirectory("/x"));
        Assert.Equal(before + 1, t.Server.HandlerExceptionCount);
        Assert.IsType<UnauthorizedAccessException>(t.Server.LastHandlerException);
        // the message belongs to its request only: the next failure has its own standard text
        var other = Assert.ThrowsAny<Renci.SshNet.Common.SftpException>(() => c.RenameFile("/a", "/b"));
        Assert.DoesNotContain("closed today", other.Message);
    }

    private sealed class Refusing : MemoryFileSystem
    {
        public override Stream OpenFile(string path, FileOpenMode mode) =>
            throw new SFTPKit.SftpException(OperationStatus.ostAccessDenied, "alice's files are closed today");

        public override void CreateDirectory(string path) => throw new UnauthorizedAccessException("no");
    }

    [Fact]
    public void EachSessionGetsItsOwnFileSystemFromTheFactory()
    {
        var sessions = new ConcurrentQueue<SftpSession>();
        var disposed = new ConcurrentQueue<string>();
        using var t = Serve(s =>
        {
            sessions.Enqueue(s);
            var fs = new PerUser(s.User, disposed);
            fs.WriteAllBytes("/whoami", Encoding.UTF8.GetBytes(s.User));
            return fs;
        }, srv =>
        {
            srv.UserCount = 2;
            srv.SetUserUsername(1, "bob");
            srv.SetUserPassword(1, "bob");
        });
        using (var demo = t.Client())
        using (var bob = t.Client("bob", "bob"))
        {
            demo.Connect();
            bob.Connect();
            Assert.Equal("demo", demo.ReadAllText("/whoami"));
            Assert.Equal("bob", bob.ReadAllText("/whoami"));
            demo.WriteAllText("/mine", "demo's");
            Assert.False(bob.Exists("/mine")); // another session's object
            Assert.True(demo.Exists("/mine"));
        }
        Assert.Equal(2, sessions.Count);
        Assert.All(sessions, s => Assert.Equal("127.0.0.1", s.RemoteAddress));
        Assert.All(sessions, s => Assert.InRange(s.RemotePort, 1, 65535));
        Assert.Equal(2, sessions.Select(s => s.ConnectionId).Distinct().Count());
        // disposed when the session ends
        Assert.True(SpinWait.SpinUntil(() => disposed.Count == 2, TimeSpan.FromSeconds(10)));
        Assert.Equal(new[] { "bob", "demo" }, disposed.OrderBy(x => x));
    }

    private sealed class PerUser : MemoryFileSystem, IDisposable
    {
        private readonly string _user;
        private readonly ConcurrentQueue<string> _disposed;

        public PerUser(string user, ConcurrentQueue<string> disposed)
        {
            _user = user;
            _disposed = disposed;
        }

        public void Dispose() => _disposed.Enqueue(_user);
    }

    [Fact]
    public void ConcurrentClientsOnASharedProviderKeepTheirDataApart()
    {
        const int clients = 8;
        var fs = new MemoryFileSystem();
        using var t = Serve(_ => fs, srv =>
        {
            srv.Config("MaxStartups=0");
            srv.Config("PerSourceMaxStartups=0");
        });
        var errors = new ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, clients).Select(i => new Thread(() =>
        {
            try
            {
                using var c = t.Client();
                c.Connect();
                byte[] data = new byte[150_000 + i * 1000];
                new Random(i).NextBytes(data);
                for (int round = 0; round < 3; round++)
                {
                    c.UploadFile(new MemoryStream(data), $"/f{i}.bin", true);
                    var back = new MemoryStream();
                    c.DownloadFile($"/f{i}.bin", back);
                    Assert.Equal(data, back.ToArray());
                }
                Assert.Contains($"f{i}.bin", c.ListDirectory("/").Select(f => f.Name));
            }
            catch (Exception ex)
            {
                errors.Enqueue(ex);
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => Assert.True(th.Join(TimeSpan.FromSeconds(120))));
        Assert.Empty(errors);
        Assert.Equal(clients, fs.List("/").Count());
    }

    /// <summary>
    /// A stream that is IPositionalRead is read without its Position, so the READs a client keeps in
    /// flight overlap: each ReadAt waits (up to 2 s, once) until three are inside at the same time,
    /// which could never happen one at a time (checked to fail with the adapter's Stream path).
    /// </summary>
    [Fact]
    public void PositionalStreamsServeOneFilesReadsAtOnce()
    {
        var fs = new Rendezvous(3);
        byte[] data = new byte[2_000_000];
        new Random(8).NextBytes(data);
        fs.WriteAllBytes("/big.bin", data);
        using var t = Serve(_ => fs);
        using var c = t.Client();
        c.Connect();
        var back = new MemoryStream();
        c.DownloadFile("/big.bin", back);
        Assert.Equal(data, back.ToArray());
        Assert.True(fs.MaxInside >= 3, $"at most {fs.MaxInside} reads of the file ran at once");
    }

    private sealed class Rendezvous : MemoryFileSystem
    {
        private readonly int _want;
        private readonly object _gate = new();
        private int _inside;
        private bool _met;

        public Rendezvous(int want) => _want = want;

        public int MaxInside { get; private set; }

        public override Stream OpenFile(string path, FileOpenMode mode) => new Waiting(this, base.OpenFile(path, mode));

        private void Enter()
        {
            lock (_gate)
            {
                _inside++;
                MaxInside = Math.Max(MaxInside, _inside);
                Monitor.PulseAll(_gate);
                var until = DateTime.UtcNow.AddSeconds(2);
                while (!_met && _inside < _want && DateTime.UtcNow < until)
                    Monitor.Wait(_gate, until - DateTime.UtcNow);
                _met = true;
            }
        }

        private void Leave()
        {
            lock (_gate)
                _inside--;
        }

        private sealed class Waiting : Stream, IPositionalRead
        {
            private readonly Rendezvous _fs;
            private readonly Stream _inner;

            public Waiting(Rendezvous fs, Stream inner) => (_fs, _inner) = (fs, inner);

            public int ReadAt(long offset, Span<byte> buffer)
            {
                _fs.Enter();
                try
                {
                    return ((IPositionalRead)_inner).ReadAt(offset, buffer);
                }
                finally
                {
                    _fs.Leave();
                }
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                _fs.Enter();
                try
                {
                    return _inner.Read(buffer, offset, count);
                }
                finally
                {
                    _fs.Leave();
                }
            }

            public override bool CanRead => _inner.CanRead;
            public override bool CanSeek => _inner.CanSeek;
            public override bool CanWrite => _inner.CanWrite;
            public override long Length => _inner.Length;
            public override long Position { get => _inner.Position; set => _inner.Position = value; }
            public override void Flush() => _inner.Flush();
            public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);
            public override void SetLength(long value) => _inner.SetLength(value);
            public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                    _inner.Dispose();
                base.Dispose(disposing);
            }
        }
    }

    [Fact]
    public void AStreamThatCannotSeekServesSequentialTransfers()
    {
        var uploaded = new ConcurrentDictionary<string, byte[]>();
        using var t = Serve(_ => new Sequential(uploaded));
        using var c = t.Client();
        c.Connect();
        byte[] data = new byte[400_000];
        new Random(5).NextBytes(data);
        c.UploadFile(new MemoryStream(data), "/up.bin");
        Assert.Equal(data, uploaded["/up.bin"]); // committed at CLOSE, as an object store would
        var back = new MemoryStream();
        c.DownloadFile("/up.bin", back);
        Assert.Equal(data, back.ToArray());
    }

    /// <summary>An object-store-like provider: uploads are one PUT at close, downloads one GET stream.</summary>
    private sealed class Sequential : MemoryFileSystem
    {
        private readonly ConcurrentDictionary<string, byte[]> _store;

        public Sequential(ConcurrentDictionary<string, byte[]> store) => _store = store;

        public override Stream OpenFile(string path, FileOpenMode mode) =>
            (mode & FileOpenMode.cfmWrite) != 0
                ? new Upload(b => _store[path] = b)
                : new NoSeek(new MemoryStream(_store.TryGetValue(path, out var b) ? b : throw SFTPKit.SftpException.NoSuchFile(path)));

        public override SftpFileInfo GetInfo(string path) =>
            _store.TryGetValue(path, out var b) ? SftpFileInfo.File(SftpPath.Name(path), b.Length)
            : path == "/" ? SftpFileInfo.Directory("/") : throw SFTPKit.SftpException.NoSuchFile(path);

        private sealed class Upload : MemoryStream
        {
            private readonly Action<byte[]> _commit;

            public Upload(Action<byte[]> commit) => _commit = commit;

            public override bool CanSeek => false;

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                    _commit(ToArray());
                base.Dispose(disposing);
            }
        }

        private sealed class NoSeek : Stream
        {
            private readonly Stream _inner;

            public NoSeek(Stream inner) => _inner = inner;
            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }

    [Fact]
    public void EveryListingIsDisposedWhenItEndsNotWhenTheSessionEnds()
    {
        // A provider's enumerator may hold a database cursor or a connection: an empty directory's
        // listing (no FINDCLOSE follows its EOF) and one whose first batch throws end at once.
        var fs = new Listing();
        fs.CreateDirectory("/empty");
        fs.CreateDirectory("/full");
        fs.WriteAllBytes("/full/a", new byte[] { 1 });
        fs.CreateDirectory("/broken");
        using var t = Serve(_ => fs);
        using var c = t.Client();
        c.Connect();
        Assert.Empty(c.ListDirectory("/empty"));
        Assert.True(SpinWait.SpinUntil(() => fs.Disposed.Contains("/empty"), TimeSpan.FromSeconds(5)),
            "the empty directory's listing was not disposed while the session lasts");
        Assert.ThrowsAny<SshException>(() => c.ListDirectory("/broken").ToList());
        Assert.True(SpinWait.SpinUntil(() => fs.Disposed.Contains("/broken"), TimeSpan.FromSeconds(5)),
            "a listing whose first batch threw was not disposed while the session lasts");
        Assert.Equal(new[] { "a" }, c.ListDirectory("/full").Select(f => f.Name).Where(n => n is not "." and not ".."));
        Assert.True(SpinWait.SpinUntil(() => fs.Disposed.Contains("/full"), TimeSpan.FromSeconds(5)));
        Assert.True(c.IsConnected);
        Assert.Equal(3, fs.Disposed.Count); // each once
    }

    private sealed class Listing : MemoryFileSystem
    {
        public readonly ConcurrentQueue<string> Disposed = new();

        public override IEnumerable<SftpFileInfo> List(string path) =>
            new Tracked(path, path == "/broken" ? null : base.List(path).ToList(), Disposed);

        /// <summary>An enumerator that records its Dispose; with no entries given, its first MoveNext throws.</summary>
        private sealed class Tracked : IEnumerable<SftpFileInfo>, IEnumerator<SftpFileInfo>
        {
            private readonly string _path;
            private readonly List<SftpFileInfo>? _entries;
            private readonly ConcurrentQueue<string> _disposed;
            private int _index = -1;

            public Tracked(string path, List<SftpFileInfo>? entries, ConcurrentQueue<string> disposed) =>
                (_path, _entries, _disposed) = (path, entries, disposed);

            public IEnumerator<SftpFileInfo> GetEnumerator() => this;
            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => this;
            public SftpFileInfo Current => _entries![_index];
            object System.Collections.IEnumerator.Current => Current;
            public bool MoveNext() => _entries == null ? throw new IOException("the back-end is down") : ++_index < _entries.Count;
            public void Reset() => _index = -1;
            public void Dispose() => _disposed.Enqueue(_path);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFileRemovedWhileOpenTakesNoQuotaThroughItsHandle(bool asyncProvider)
    {
        // OPEN, REMOVE, then WRITE or FSETSTAT size on the handle, CLOSE: that charged the shared
        // quota for a file no longer in the tree and never gave it back, so one FSETSTAT could
        // take the whole quota from every session.
        const long quota = 1 << 20;
        var fs = new MemoryFileSystem(quota);
        using var t = new TestServer(srv =>
        {
            srv.BaseDir = "";
            if (asyncProvider)
                srv.UseAsyncFileSystem(fs);
            else
                srv.UseFileSystem(fs);
        });
        using var a = t.Client();
        using var b = t.Client();
        a.Connect();
        b.Connect();

        bool writeRefused = false, resizeRefused = false;
        var written = a.Open("/x", FileMode.Create, System.IO.FileAccess.Write);
        a.DeleteFile("/x");
        try
        {
            written.Write(new byte[64 * 1024]); // WRITE requests on the removed file's handle
            written.Flush();
        }
        catch (SftpPathNotFoundException)
        {
            writeRefused = true;
        }
        try
        {
            written.Dispose(); // CLOSE, after SSH.NET's flush of what it still buffers (refused again)
        }
        catch (SftpPathNotFoundException)
        {
        }

        var resized = a.Open("/y", FileMode.Create, System.IO.FileAccess.Write);
        a.DeleteFile("/y");
        b.Create("/y").Dispose(); // a new /y: SSH.NET's SetLength reads the size by FSTAT (the path's) first
        try
        {
            resized.SetLength(quota - fs.TotalBytes); // FSETSTAT size: everything that is left
        }
        catch (SftpPathNotFoundException)
        {
            resizeRefused = true;
        }
        resized.Dispose();

        Assert.Equal(MemoryFileSystemTests.Entry("y"), fs.TotalBytes); // the new /y, nothing else
        long room = quota - fs.TotalBytes - MemoryFileSystemTests.Entry("full");
        b.UploadFile(new MemoryStream(new byte[room]), "/full"); // the whole quota, by another session
        Assert.Equal(quota, fs.TotalBytes);
        Assert.True(writeRefused, "a WRITE on a removed file's handle succeeded");
        Assert.True(resizeRefused, "an FSETSTAT size on a removed file's handle succeeded");
    }

    [Fact]
    public void EntriesCountAgainstTheQuotaSoAnMkdirLoopStops()
    {
        const long quota = 64 * 1024;
        var fs = new MemoryFileSystem(quota);
        using var t = Serve(_ => fs);
        using var a = t.Client();
        using var b = t.Client();
        a.Connect();
        b.Connect();
        int made = 0;
        SshException? stop = null;
        for (; made < 2000 && stop == null; made++)
        {
            try
            {
                a.CreateDirectory($"/d{made}");
            }
            catch (SshException ex)
            {
                stop = ex;
                made--;
            }
        }
        Assert.True(stop != null, $"{made} MKDIRs and no failure: directories cost no quota");
        Assert.Contains("quota exceeded", stop!.Message);
        Assert.InRange(made, quota / MemoryFileSystemTests.Entry("d1234") - 1, quota / MemoryFileSystemTests.Entry("d1"));
        Assert.True(a.IsConnected);
        // the quota is shared: no session can add an entry now, a directory or an empty file
        Assert.Contains("quota exceeded", Assert.ThrowsAny<SshException>(() => b.CreateDirectory("/other")).Message);
        Assert.Contains("quota exceeded", Assert.ThrowsAny<SshException>(() => b.Create("/empty").Dispose()).Message);

        for (int i = 0; i < made; i++)
            a.DeleteDirectory($"/d{i}");
        Assert.Equal(0, fs.TotalBytes);
        b.CreateDirectory("/other");
        b.WriteAllText("/other/f", "works again");
        Assert.Equal("works again", a.ReadAllText("/other/f"));
    }

    [Fact]
    public void AnOpenOrOpendirVetoedAfterTheProviderRanClosesWhatItOpened()
    {
        // A handler subscribed after UseFileSystem fails the request once the provider has opened
        // the file or listing: the engine drops the handle and no close event follows.
        var fs = new Counting();
        fs.WriteAllBytes("/vetoed.txt", new byte[] { 1 });
        fs.WriteAllBytes("/vetoed/inside", new byte[] { 2 }); // not empty: the listing stays open past its first batch
        fs.WriteAllBytes("/fine.txt", new byte[] { 3 });
        using var t = Serve(_ => fs, srv =>
        {
            srv.HandlerException += (_, _) => { }; // the throwing veto is reported: here, quietly
            srv.OnOpenFile += (_, e) =>
            {
                if (e.Path == "/vetoed.txt")
                    e.OperationStatus = OperationStatus.ostAccessDenied;
            };
            srv.OnFindFirst += (_, e) =>
            {
                if (e.Path == "/vetoed")
                    throw new InvalidOperationException("no listings of /vetoed");
            };
        });
        using var c = t.Client();
        c.Connect();
        const int rounds = 20;
        for (int i = 0; i < rounds; i++)
        {
            Assert.Throws<SftpPermissionDeniedException>(() => c.ReadAllBytes("/vetoed.txt"));
            Assert.Throws<SftpPermissionDeniedException>(() => c.ListDirectory("/vetoed").ToList());
        }
        Assert.Equal(rounds, fs.StreamsMade);
        Assert.Equal(rounds, fs.ListingsMade);
        Assert.Equal(0, fs.StreamsOpen);   // each closed while the session lasts
        Assert.Equal(0, fs.ListingsOpen);
        // what is not vetoed is served and closed by the client's CLOSE, as before
        Assert.Equal(new byte[] { 3 }, c.ReadAllBytes("/fine.txt"));
        Assert.Contains("fine.txt", c.ListDirectory("/").Select(f => f.Name));
        Assert.Equal(0, fs.StreamsOpen);
        Assert.Equal(0, fs.ListingsOpen);
        Assert.True(c.IsConnected);
    }

    [Fact]
    public void AnAppendOpenWhoseLengthThrowsDisposesTheStream()
    {
        var fs = new Counting { LengthFails = true };
        fs.WriteAllBytes("/log.txt", new byte[] { 1 });
        using var t = Serve(_ => fs);
        using var c = t.Client();
        c.Connect();
        Assert.ThrowsAny<SshException>(() => c.AppendAllText("/log.txt", "more"));
        Assert.Equal(1, fs.StreamsMade);
        Assert.Equal(0, fs.StreamsOpen); // the OPEN failed: nothing would ever close it
    }

    /// <summary>Counts the streams and listings it hands out and how many are still undisposed.</summary>
    private sealed class Counting : MemoryFileSystem
    {
        private int _streamsMade, _streamsOpen, _listingsMade, _listingsOpen;

        /// <summary>The streams' Length throws (as a back-end that cannot tell a size).</summary>
        public bool LengthFails { get; init; }

        public int StreamsMade => Volatile.Read(ref _streamsMade);
        public int StreamsOpen => Volatile.Read(ref _streamsOpen);
        public int ListingsMade => Volatile.Read(ref _listingsMade);
        public int ListingsOpen => Volatile.Read(ref _listingsOpen);

        public override Stream OpenFile(string path, FileOpenMode mode)
        {
            Stream inner = base.OpenFile(path, mode);
            Interlocked.Increment(ref _streamsMade);
            Interlocked.Increment(ref _streamsOpen);
            return new Counted(inner, () => Interlocked.Decrement(ref _streamsOpen), LengthFails);
        }

        public override IEnumerable<SftpFileInfo> List(string path)
        {
            List<SftpFileInfo> entries = base.List(path).ToList();
            return new Once(() =>
            {
                Interlocked.Increment(ref _listingsMade);
                Interlocked.Increment(ref _listingsOpen);
                return new Enumerator(entries, () => Interlocked.Decrement(ref _listingsOpen));
            });
        }

        private sealed class Once : IEnumerable<SftpFileInfo>
        {
            private readonly Func<IEnumerator<SftpFileInfo>> _make;
            public Once(Func<IEnumerator<SftpFileInfo>> make) => _make = make;
            public IEnumerator<SftpFileInfo> GetEnumerator() => _make();
            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }

        private sealed class Enumerator : IEnumerator<SftpFileInfo>
        {
            private readonly List<SftpFileInfo> _entries;
            private Action? _disposed;
            private int _index = -1;

            public Enumerator(List<SftpFileInfo> entries, Action disposed) => (_entries, _disposed) = (entries, disposed);
            public SftpFileInfo Current => _entries[_index];
            object System.Collections.IEnumerator.Current => Current;
            public bool MoveNext() => ++_index < _entries.Count;
            public void Reset() => _index = -1;
            public void Dispose() => Interlocked.Exchange(ref _disposed, null)?.Invoke();
        }

        private sealed class Counted : Stream
        {
            private readonly Stream _inner;
            private readonly bool _lengthFails;
            private Action? _disposed;

            public Counted(Stream inner, Action disposed, bool lengthFails) =>
                (_inner, _disposed, _lengthFails) = (inner, disposed, lengthFails);
            public override bool CanRead => _inner.CanRead;
            public override bool CanSeek => _inner.CanSeek;
            public override bool CanWrite => _inner.CanWrite;
            public override long Length => _lengthFails ? throw new IOException("the back-end cannot tell the size") : _inner.Length;
            public override long Position { get => _inner.Position; set => _inner.Position = value; }
            public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
            public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);
            public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);
            public override void SetLength(long value) => _inner.SetLength(value);
            public override void Flush() => _inner.Flush();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    Interlocked.Exchange(ref _disposed, null)?.Invoke();
                    _inner.Dispose();
                }
                base.Dispose(disposing);
            }
        }
    }

    [Fact]
    public void UseFileSystemTwiceIsRefused()
    {
        using var srv = new SFTPServer();
        srv.UseFileSystem(new MemoryFileSystem());
        Assert.Throws<InvalidOperationException>(() => srv.UseFileSystem(new MemoryFileSystem()));
    }
}
