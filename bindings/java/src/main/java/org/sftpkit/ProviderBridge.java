package org.sftpkit;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.ReadOnlyFileSystemException;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serves an {@link SftpFileSystemFactory} through the document's events: claims every file request
 * in the on_before_* events (fraCustom, unless a handler already said fraAbort) and answers the
 * custom events from the session's {@link SftpFileSystem}. It is an SFTPServerListener, so the
 * application's own handlers (a path policy in on_before_*, logging) keep working beside it and
 * run first.
 *
 * <p>State is per session: a Session per connection id holds the file system, its open files and
 * listings (handles are unique server-wide, but they are looked up in their own session only).
 */
abstract class ProviderBridge implements SFTPServerListener {
    /** Entries committed per on_find_first/on_find_next call (a READDIR reply holds up to 1024). */
    private static final int ENTRIES_PER_CALL = 128;

    final SFTPServer server;
    private final SftpFileSystemFactory factory;
    private final Map<Long, Session> sessions = new ConcurrentHashMap<>();

    private ProviderBridge(SFTPServer server, SftpFileSystemFactory factory) {
        this.server = server;
        this.factory = factory;
    }

    /** The synchronous provider: READ and WRITE answered on the server thread. */
    static ProviderBridge sync(SFTPServer server, SftpFileSystemFactory factory) {
        return new Sync(server, factory);
    }

    /**
     * The asynchronous provider: READ and WRITE deferred (answered when the provider's stage
     * completes), every other method awaited through {@link AwaitedFileSystem}.
     */
    static ProviderBridge async(SFTPServer server, AsyncSftpFileSystemFactory factory) {
        return new Async(server, session -> {
            AsyncSftpFileSystem fs = factory.create(session);
            return fs == null ? null : new AwaitedFileSystem(fs);
        });
    }

    /** Overrides the synchronous read/write listener methods only (a listener has one form per event). */
    private static final class Sync extends ProviderBridge {
        Sync(SFTPServer server, SftpFileSystemFactory factory) {
            super(server, factory);
        }

        @Override
        public void onReadFile(ReadFileEvent e) {
            readNow(e);
        }

        @Override
        public void onWriteFile(WriteFileEvent e) {
            writeNow(e);
        }
    }

    /** Overrides the asynchronous read/write listener methods only. */
    private static final class Async extends ProviderBridge {
        Async(SFTPServer server, SftpFileSystemFactory factory) {
            super(server, factory);
        }

        @Override
        public java.util.concurrent.CompletionStage<ByteBuffer> onReadFileAsync(ReadFileEvent e) throws IOException {
            AsyncSftpFile f = asyncFile(e.getConnectionId(), e.getHandle());
            int want = (int) Math.min(e.getSize(), Integer.MAX_VALUE);
            return AwaitedFileSystem.nonNull(f.read(e.getOffset(), want), "read");
        }

        @Override
        public java.util.concurrent.CompletionStage<?> onWriteFileAsync(WriteFileEvent e) throws IOException {
            AsyncSftpFile f = asyncFile(e.getConnectionId(), e.getHandle());
            // the data is readable only while the event runs; the provider keeps this copy until it is done
            byte[] data = server.getClientBuffer(e.getConnectionId(), e.getHandle());
            return AwaitedFileSystem.nonNull(f.write(e.getOffset(), ByteBuffer.wrap(data)), "write");
        }

        private AsyncSftpFile asyncFile(long conn, String handle) throws SftpException {
            SftpFile f = file(session(conn), handle);
            return ((AwaitedFileSystem.AwaitedFile) f).async();
        }
    }

    private static final class Listing {
        final String dir;
        final Iterable<SftpAttributes> source;
        final Iterator<SftpAttributes> it;

        Listing(String dir, Iterable<SftpAttributes> source) {
            this.dir = dir;
            this.source = source;
            this.it = source.iterator();
        }
    }

    final class Session {
        final long id;
        volatile String address = "";
        volatile int port;
        volatile String user = "";
        private SftpFileSystem fs; // guarded by this
        private IOException failed; // guarded by this: the factory refused
        final Map<String, SftpFile> files = new ConcurrentHashMap<>();
        final Map<String, String> filePaths = new ConcurrentHashMap<>();
        final Map<String, Listing> listings = new ConcurrentHashMap<>();

        Session(long id) {
            this.id = id;
        }

        synchronized SftpFileSystem fs() throws IOException {
            if (fs == null) {
                if (failed != null) {
                    throw failed;
                }
                try {
                    fs = factory.create(new SftpSession(server, id, user, address, port));
                    if (fs == null) {
                        throw new SftpException(OperationStatus.ostAccessDenied, "no file system for this session");
                    }
                } catch (IOException | RuntimeException e) {
                    failed = e instanceof IOException ? (IOException) e
                            : new SftpException(null, "the file-system factory failed: " + e, e);
                    log(Level.WARNING, "the file-system factory refused connection " + id + " (" + user + ")", e);
                    throw failed;
                }
            }
            return fs;
        }

        /** Closes what the client left open, then the file system. */
        void end() {
            for (Map.Entry<String, SftpFile> f : files.entrySet()) {
                quietly("close " + filePaths.get(f.getKey()), f.getValue());
            }
            files.clear();
            for (Listing l : listings.values()) {
                closeListing(l);
            }
            listings.clear();
            SftpFileSystem f;
            synchronized (this) {
                f = fs;
                fs = null;
            }
            if (f != null) {
                quietly("close the file system of connection " + id, f);
            }
        }
    }

    final Session session(long id) {
        return sessions.computeIfAbsent(id, Session::new);
    }

    // ---- session lifecycle --------------------------------------------------------------------

    @Override
    public void onConnect(ConnectEvent e) {
        Session s = session(e.getConnectionId());
        s.address = e.getRemoteAddress();
        s.port = (int) e.getRemotePort();
    }

    @Override
    public void onAuthSucceeded(AuthSucceededEvent e) {
        session(e.getConnectionId()).user = e.getUsername();
    }

    @Override
    public void onSessionEstablished(SessionEstablishedEvent e) {
        try {
            session(e.getConnectionId()).fs();
        } catch (IOException refused) {
            // logged; every request of the session reports it
        }
    }

    @Override
    public void onDisconnect(DisconnectEvent e) {
        Session s = sessions.remove(e.getConnectionId());
        if (s != null) {
            s.end();
        }
    }

    /** The provider was replaced or removed: end every session's file system. */
    void detach() {
        for (Long id : sessions.keySet()) {
            Session s = sessions.remove(id);
            if (s != null) {
                s.end();
            }
        }
    }

    // ---- claiming the requests ----------------------------------------------------------------

    private static long claim(long action) {
        return action == FileRequestAction.fraAbort.value() ? action : FileRequestAction.fraCustom.value();
    }

    @Override
    public void onBeforeDownloadFile(BeforeDownloadFileEvent e) {
        e.setActionValue(claim(e.getActionValue()));
    }

    @Override
    public void onBeforeUploadFile(BeforeUploadFileEvent e) {
        e.setActionValue(claim(e.getActionValue()));
    }

    @Override
    public void onBeforeFind(BeforeFindEvent e) {
        e.setActionValue(claim(e.getActionValue()));
    }

    @Override
    public void onBeforeRequestAttributes(BeforeRequestAttributesEvent e) {
        e.setActionValue(claim(e.getActionValue()));
    }

    @Override
    public void onBeforeSetAttributes(BeforeSetAttributesEvent e) {
        e.setActionValue(claim(e.getActionValue()));
    }

    @Override
    public void onBeforeCreateDirectory(BeforeCreateDirectoryEvent e) {
        e.setActionValue(claim(e.getActionValue()));
    }

    @Override
    public void onBeforeRemove(BeforeRemoveEvent e) {
        e.setActionValue(claim(e.getActionValue()));
    }

    @Override
    public void onBeforeRenameFile(BeforeRenameFileEvent e) {
        e.setActionValue(claim(e.getActionValue()));
    }

    // ---- files --------------------------------------------------------------------------------

    @Override
    public void onOpenFile(OpenFileEvent e) {
        Session s = session(e.getConnectionId());
        try {
            SftpFile f = s.fs().open(e.getPath(), e.getModes());
            if (f == null) {
                throw new SftpException(null, "open returned no file");
            }
            String handle = e.getHandle();
            s.files.put(handle, f);
            s.filePaths.put(handle, e.getPath());
            e.setOperationStatusValue(OperationStatus.ostOk.value());
            e.afterDelivery(() -> settleOpen(s, e, handle));
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "open " + e.getPath(), t));
        }
    }

    /**
     * After every receiver of the OPEN: a receiver that runs after this listener (one added later)
     * may have refused it (a failure status, or it threw), and then the library drops the handle
     * with no on_close_file to follow, so the file is closed now; or it renamed the handle, and
     * the file is kept under the name the client will use.
     */
    private void settleOpen(Session s, OpenFileEvent e, String stored) {
        if (e.getOperationStatusValue() != OperationStatus.ostOk.value()) {
            SftpFile f = s.files.remove(stored);
            String path = s.filePaths.remove(stored);
            if (f != null) {
                quietly("close " + path + " (its OPEN was refused after the provider opened it)", f);
            }
        } else if (!e.getHandle().equals(stored)) {
            SftpFile f = s.files.remove(stored);
            String path = s.filePaths.remove(stored);
            if (f != null) {
                s.files.put(e.getHandle(), f);
                s.filePaths.put(e.getHandle(), path);
            }
        }
    }

    final SftpFile file(Session s, String handle) throws SftpException {
        SftpFile f = s.files.get(handle);
        if (f == null) {
            throw new SftpException(null, "no open file for handle " + handle);
        }
        return f;
    }

    final void readNow(ReadFileEvent e) {
        Session s = session(e.getConnectionId());
        int want = (int) Math.min(e.getSize(), Integer.MAX_VALUE);
        ByteBuffer buf = BufferPool.take(want);
        try {
            SftpFile f = file(s, e.getHandle());
            buf.limit(want);
            long offset = e.getOffset();
            boolean eof = false;
            while (buf.hasRemaining()) { // fill the client's request: short reads are the provider's business
                int n = f.read(offset + buf.position(), buf);
                if (n < 0) {
                    eof = true;
                    break;
                }
                if (n == 0) {
                    break;
                }
            }
            buf.flip();
            if (!buf.hasRemaining() && (eof || want > 0)) {
                e.setOperationStatusValue(OperationStatus.ostEOF.value());
                return;
            }
            ClientBuffers.set(server.nativeHandle(), e.getConnectionId(), ClientBuffers.CURRENT, buf);
            e.setOperationStatusValue(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "read " + s.filePaths.get(e.getHandle()), t));
        } finally {
            BufferPool.give(buf);
        }
    }

    final void writeNow(WriteFileEvent e) {
        Session s = session(e.getConnectionId());
        ByteBuffer buf = BufferPool.take(BufferPool.SIZE);
        try {
            SftpFile f = file(s, e.getHandle());
            try {
                ClientBuffers.get(server.nativeHandle(), e.getConnectionId(), ClientBuffers.CURRENT, buf);
            } catch (SFTPKitException tooBig) { // more than SIZE (nothing was copied): the pool's LARGE size holds any WRITE
                if (tooBig.getCode() != ErrorCode.INVALID_PARAMETER) {
                    throw tooBig;
                }
                // take before give: if taking throws, buf is still ours alone and finally gives it once
                ByteBuffer large = BufferPool.take(BufferPool.LARGE);
                BufferPool.give(buf);
                buf = large;
                ClientBuffers.get(server.nativeHandle(), e.getConnectionId(), ClientBuffers.CURRENT, buf);
            }
            buf.flip();
            f.write(e.getOffset(), buf);
            e.setOperationStatusValue(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "write " + s.filePaths.get(e.getHandle()), t));
        } finally {
            BufferPool.give(buf);
        }
    }

    @Override
    public void onCloseFile(CloseFileEvent e) {
        Session s = session(e.getConnectionId());
        SftpFile f = s.files.remove(e.getHandle());
        String path = s.filePaths.remove(e.getHandle());
        if (f == null) {
            e.setOperationStatusValue(failure(e, "close", new SftpException(null, "no open file for this handle")));
            return;
        }
        try {
            f.close();
            e.setOperationStatusValue(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "close " + path, t));
        }
    }

    // ---- listings -----------------------------------------------------------------------------

    @Override
    public void onFindFirst(FindFirstEvent e) {
        Session s = session(e.getConnectionId());
        try {
            Iterable<SftpAttributes> entries = s.fs().list(e.getPath());
            if (entries == null) {
                throw new SftpException(null, "list returned nothing");
            }
            Listing l = new Listing(e.getPath(), entries);
            String handle = e.getHandle();
            s.listings.put(handle, l);
            e.afterDelivery(() -> settleListing(s, e, handle)); // set first: sendSome may throw
            e.setOperationStatusValue(sendSome(e.getConnectionId(), handle, l));
        } catch (Throwable t) {
            Listing l = s.listings.remove(e.getHandle());
            if (l != null) {
                closeListing(l);
            }
            e.setOperationStatusValue(failure(e, "list " + e.getPath(), t));
        }
    }

    /** As settleOpen, for OPENDIR: ostEOF (an empty first batch) is a success there. */
    private void settleListing(Session s, FindFirstEvent e, String stored) {
        long st = e.getOperationStatusValue();
        if (st != OperationStatus.ostOk.value() && st != OperationStatus.ostEOF.value()) {
            Listing l = s.listings.remove(stored);
            if (l != null) {
                closeListing(l);
            }
        } else if (!e.getHandle().equals(stored)) {
            Listing l = s.listings.remove(stored);
            if (l != null) {
                s.listings.put(e.getHandle(), l);
            }
        }
    }

    @Override
    public void onFindNext(FindNextEvent e) {
        Session s = session(e.getConnectionId());
        Listing l = s.listings.get(e.getHandle());
        try {
            if (l == null) {
                throw new SftpException(null, "no listing for this handle");
            }
            e.setOperationStatusValue(sendSome(e.getConnectionId(), e.getHandle(), l));
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "list " + (l != null ? l.dir : ""), t));
        }
    }

    @Override
    public void onFindClose(FindCloseEvent e) {
        Listing l = session(e.getConnectionId()).listings.remove(e.getHandle());
        if (l != null) {
            closeListing(l);
        }
        e.setOperationStatusValue(OperationStatus.ostOk.value());
    }

    private long sendSome(long conn, String handle, Listing l) {
        int sent = 0;
        synchronized (l) {
            while (sent < ENTRIES_PER_CALL && l.it.hasNext()) {
                SftpAttributes a = l.it.next();
                if (a == null || a.getName() == null || a.getName().isEmpty()) {
                    continue;
                }
                Entries.put(server, a, Paths.child(l.dir, a.getName()), true);
                server.setClientFileEntry(conn, handle);
                sent++;
            }
        }
        return sent == 0 ? OperationStatus.ostEOF.value() : OperationStatus.ostOk.value();
    }

    private void closeListing(Listing l) {
        if (l.source instanceof AutoCloseable) {
            quietly("close the listing of " + l.dir, (AutoCloseable) l.source);
        }
    }

    // ---- attributes ---------------------------------------------------------------------------

    @Override
    public void onRequestAttributes(RequestAttributesEvent e) {
        Session s = session(e.getConnectionId());
        String handle = e.getHandle();
        String path = e.getPath();
        try {
            SftpAttributes a;
            SftpFile f = handle.isEmpty() ? null : s.files.get(handle);
            if (f != null) {
                path = s.filePaths.getOrDefault(handle, path);
                SftpAttributes own;
                try {
                    own = f.stat();
                } catch (SftpException unsupported) {
                    if (unsupported.getStatus() != OperationStatus.ostUnsupported) {
                        throw unsupported;
                    }
                    own = s.fs().stat(path);
                }
                a = own;
            } else {
                Listing l = handle.isEmpty() ? null : s.listings.get(handle);
                if (l != null) {
                    path = l.dir;
                }
                a = s.fs().stat(path);
            }
            if (a == null) {
                throw SftpException.noSuchFile(path);
            }
            Entries.put(server, a, path, false);
            server.setClientFileEntry(e.getConnectionId(), handle);
            e.setOperationStatusValue(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "stat " + path, t));
        }
    }

    @Override
    public void onSetAttributes(SetAttributesEvent e) {
        Session s = session(e.getConnectionId());
        String handle = e.getHandle();
        String path = e.getPath();
        try {
            server.getClientFileEntry(e.getConnectionId(), handle);
            SftpAttributes change = Entries.requestedChange(server);
            SftpFile f = handle.isEmpty() ? null : s.files.get(handle);
            if (f != null) {
                path = s.filePaths.getOrDefault(handle, path);
                try {
                    f.setStat(change);
                } catch (SftpException unsupported) {
                    if (unsupported.getStatus() != OperationStatus.ostUnsupported) {
                        throw unsupported;
                    }
                    s.fs().setStat(path, change);
                }
            } else {
                s.fs().setStat(path, change);
            }
            e.setOperationStatusValue(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "setstat " + path, t));
        }
    }

    // ---- names --------------------------------------------------------------------------------

    @Override
    public void onCreateDirectory(CreateDirectoryEvent e) {
        try {
            session(e.getConnectionId()).fs().mkdir(e.getPath());
            e.setOperationStatusValue(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "mkdir " + e.getPath(), t));
        }
    }

    @Override
    public void onRemove(RemoveEvent e) {
        try {
            SftpFileSystem fs = session(e.getConnectionId()).fs();
            SftpAttributes a;
            try {
                a = fs.stat(e.getPath());
            } catch (IOException notThere) {
                a = null; // let remove() say what is wrong
            }
            if (a != null && a.isDirectory()) {
                fs.rmdir(e.getPath());
            } else {
                fs.remove(e.getPath());
            }
            e.setOperationStatusValue(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "remove " + e.getPath(), t));
        }
    }

    @Override
    public void onRenameFile(RenameFileEvent e) {
        try {
            session(e.getConnectionId()).fs().rename(e.getOldPath(), e.getNewPath());
            e.setOperationStatusValue(OperationStatus.ostOk.value());
        } catch (Throwable t) {
            e.setOperationStatusValue(failure(e, "rename " + e.getOldPath() + " " + e.getNewPath(), t));
        }
    }

    @Override
    public void onBeforeCreateLink(BeforeCreateLinkEvent e) {
        if (e.getActionValue() == FileRequestAction.fraAbort.value()) {
            return; // an application handler refused it
        }
        try {
            session(e.getConnectionId()).fs().link(e.getLinkPath(), e.getTargetPath(), e.getHardLink());
            e.setActionValue(FileRequestAction.fraCustom.value()); // made: the client gets OK
        } catch (Throwable t) {
            failure(e, "link " + e.getLinkPath() + " -> " + e.getTargetPath(), t);
            e.setActionValue(FileRequestAction.fraAbort.value());
        }
    }

    @Override
    public void onTranslatePath(TranslatePathEvent e) {
        if (e.getActionValue() == FileRequestAction.fraAbort.value()) {
            return;
        }
        try {
            String abs = session(e.getConnectionId()).fs().realpath(e.getPath());
            e.setAbsolutePath(abs == null ? "" : abs);
            e.setActionValue(FileRequestAction.fraCustom.value());
        } catch (Throwable t) {
            long st = failure(e, "realpath " + e.getPath(), t);
            if (st == OperationStatus.ostNoSuchFile.value()) {
                e.setAbsolutePath(""); // fraCustom with no path: no such file
                e.setActionValue(FileRequestAction.fraCustom.value());
            } else {
                e.setActionValue(FileRequestAction.fraAbort.value());
            }
        }
    }

    // ---- errors -------------------------------------------------------------------------------

    /** The OperationStatus value for t (0: a generic failure), logged. */
    private long failure(SFTPKitEvent e, String what, Throwable t) {
        long st = statusOf(t);
        if (t instanceof SftpException || t instanceof FileSystemException) { // the client's business
            log(Level.DEBUG, e.getEventName() + ": " + what + ": " + t, null);
        } else { // a bug or an outage of the provider: the operator's business
            log(Level.WARNING, e.getEventName() + ": " + what + " failed", t);
        }
        // Only an SftpException's message is meant for the client: other exceptions can carry
        // host paths (FileSystemException) or internals (a bug's message); those get the status alone.
        if (t instanceof SftpException) {
            StatusMessages.set(e, t.getMessage());
        }
        return st;
    }

    static long statusOf(Throwable t) {
        if (t instanceof SftpException) {
            OperationStatus s = ((SftpException) t).getStatus();
            return s == null ? 0 : s.value();
        }
        if (t instanceof NoSuchFileException || t instanceof NotDirectoryException) {
            return OperationStatus.ostNoSuchFile.value();
        }
        if (t instanceof AccessDeniedException) {
            return OperationStatus.ostAccessDenied.value();
        }
        if (t instanceof ReadOnlyFileSystemException) {
            return OperationStatus.ostWriteProtect.value();
        }
        if (t instanceof UnsupportedOperationException) {
            return OperationStatus.ostUnsupported.value();
        }
        return 0; // SSH_FX_FAILURE
    }

    private void quietly(String what, AutoCloseable c) {
        try {
            c.close();
        } catch (Throwable t) {
            log(Level.WARNING, what + " failed", t);
        }
    }

    private void log(Level level, String message, Throwable t) {
        Logging.of(server).log(level, message, t);
    }
}
