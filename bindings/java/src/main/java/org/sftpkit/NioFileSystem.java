package org.sftpkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;
import java.util.function.Function;

/**
 * Serves a directory of any {@link java.nio.file.FileSystem}: the default one, the JDK's zip file
 * system ({@code jdk.zipfs}), an in-memory one, a cloud provider's. Each session sees the tree
 * under its root path as "/".
 *
 * <pre>{@code
 * srv.setFileSystem(NioFileSystem.factory(Path.of("/srv/sftp")));
 * FileSystem zip = FileSystems.newFileSystem(Path.of("site.zip"), Map.of("create", "true"));
 * srv.setFileSystem(NioFileSystem.factory(zip.getPath("/")));
 * srv.setFileSystem(NioFileSystem.factory(s -> Path.of("/home", s.getUsername())));   // per user
 * }</pre>
 *
 * <p>Confinement is lexical: client paths are normalized ("..": never above the root) and
 * resolved under the root, but symbolic links inside the tree are followed by the file system.
 * For a local directory clients share with others, the native {@code base_dir} back-end (which
 * confines links with openat2) is the safer choice; this adapter is for other file systems.
 * Files open as a FileChannel when the provider has one (positional reads and writes), else as a
 * SeekableByteChannel (zipfs writes: sequential only, as clients upload).
 */
public class NioFileSystem implements SftpFileSystem {
    private final Path root;

    /**
     * A file system serving root.
     *
     * @param root the directory clients see as "/"
     */
    public NioFileSystem(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /**
     * A factory giving every session the same root.
     *
     * @param root the directory clients see as "/"
     * @return the factory
     */
    public static SftpFileSystemFactory factory(Path root) {
        return session -> new NioFileSystem(root);
    }

    /**
     * A factory choosing the root per session (per user, say).
     *
     * @param rootOf the root for a session
     * @return the factory
     */
    public static SftpFileSystemFactory factory(Function<SftpSession, Path> rootOf) {
        return session -> new NioFileSystem(rootOf.apply(session));
    }

    /**
     * The root directory.
     *
     * @return the root
     */
    public Path getRoot() {
        return root;
    }

    /**
     * The path under the root for a client path ("/a/b" -> root/a/b; ".." never leaves the root).
     *
     * @param clientPath the client's path
     * @return the path in the served file system
     */
    protected Path resolve(String clientPath) {
        String norm = Paths.normalize(clientPath);
        return norm.equals("/") ? root : root.resolve(norm.substring(1));
    }

    @Override
    public SftpFile open(String path, Set<FileOpenMode> modes) throws IOException {
        Path p = resolve(path);
        Set<OpenOption> opts = new HashSet<>();
        boolean write = modes.contains(FileOpenMode.cfmWrite) || modes.contains(FileOpenMode.cfmAppend);
        if (modes.contains(FileOpenMode.cfmRead) || !write) {
            opts.add(StandardOpenOption.READ);
        }
        if (write) {
            opts.add(StandardOpenOption.WRITE);
        }
        if (modes.contains(FileOpenMode.cfmAppend)) {
            opts.add(StandardOpenOption.APPEND);
        }
        if (modes.contains(FileOpenMode.cfmCreate) || modes.contains(FileOpenMode.cfmOpenOrCreate)) {
            opts.add(modes.contains(FileOpenMode.cfmExcl) ? StandardOpenOption.CREATE_NEW : StandardOpenOption.CREATE);
        }
        if (modes.contains(FileOpenMode.cfmTruncate)) {
            opts.add(StandardOpenOption.TRUNCATE_EXISTING);
        }
        if (Files.isDirectory(p)) {
            throw new SftpException(null, path + " is a directory");
        }
        try {
            return new ChannelFile(this, path, FileChannel.open(p, opts));
        } catch (UnsupportedOperationException noFileChannel) {
            return new ChannelFile(this, path, Files.newByteChannel(p, opts));
        }
    }

    @Override
    public SftpAttributes stat(String path) throws IOException {
        return attributes(resolve(path), Paths.name(Paths.normalize(path)));
    }

    /**
     * The attributes of a path of the served file system (POSIX ones when the file system has
     * them: permissions and owner).
     *
     * @param p the path
     * @param name the name to report
     * @return the attributes
     * @throws IOException if they cannot be read
     */
    protected SftpAttributes attributes(Path p, String name) throws IOException {
        BasicFileAttributes b;
        Integer mode = null;
        String owner = null;
        try {
            PosixFileAttributes px = Files.readAttributes(p, PosixFileAttributes.class);
            b = px;
            mode = mode(px.permissions());
            owner = px.owner() != null ? px.owner().getName() : null;
        } catch (UnsupportedOperationException noPosix) {
            b = Files.readAttributes(p, BasicFileAttributes.class);
        }
        FileType t = b.isDirectory() ? FileType.cftDirectory : b.isSymbolicLink() ? FileType.cftSymblink
                : b.isRegularFile() ? FileType.cftFile : FileType.cftSpecial;
        return new SftpAttributes().name(name).type(t).size(b.isDirectory() ? 0 : b.size()).permissions(mode)
                .modified(b.lastModifiedTime().toInstant()).accessed(b.lastAccessTime() != null
                        ? b.lastAccessTime().toInstant() : null)
                .owner(owner);
    }

    private static int mode(Set<PosixFilePermission> perms) {
        int m = 0;
        for (PosixFilePermission x : perms) {
            m |= 0400 >> x.ordinal(); // OWNER_READ .. OTHERS_EXECUTE, in rwxrwxrwx order
        }
        return m;
    }

    private static Set<PosixFilePermission> perms(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission x : PosixFilePermission.values()) {
            if ((mode & (0400 >> x.ordinal())) != 0) {
                s.add(x);
            }
        }
        return s;
    }

    @Override
    public Iterable<SftpAttributes> list(String path) throws IOException {
        Path dir = resolve(path);
        DirectoryStream<Path> ds = Files.newDirectoryStream(dir);
        return new Listing(ds);
    }

    /** A directory stream as SftpAttributes, closed with the listing. */
    private final class Listing implements Iterable<SftpAttributes>, AutoCloseable {
        private final DirectoryStream<Path> ds;

        Listing(DirectoryStream<Path> ds) {
            this.ds = ds;
        }

        @Override
        public Iterator<SftpAttributes> iterator() {
            Iterator<Path> it = ds.iterator();
            return new Iterator<SftpAttributes>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public SftpAttributes next() {
                    Path p = it.next();
                    String name = p.getFileName() != null ? p.getFileName().toString() : "";
                    if (name.endsWith("/")) { // zipfs names directories "d/"
                        name = name.substring(0, name.length() - 1);
                    }
                    try {
                        return attributes(p, name);
                    } catch (IOException gone) { // removed while listed: still list the name
                        return SftpAttributes.file(name, -1);
                    }
                }
            };
        }

        @Override
        public void close() throws IOException {
            ds.close();
        }
    }

    @Override
    public void setStat(String path, SftpAttributes changes) throws IOException {
        Path p = resolve(path);
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw SftpException.noSuchFile(path);
        }
        if (changes.getSize() >= 0) {
            try (SeekableByteChannel c = Files.newByteChannel(p, StandardOpenOption.WRITE)) {
                if (changes.getSize() < c.size()) {
                    c.truncate(changes.getSize());
                } else if (changes.getSize() > c.size()) {
                    c.position(changes.getSize() - 1).write(ByteBuffer.wrap(new byte[1]));
                }
            }
        }
        if (changes.getPermissions() != null) {
            try {
                Files.setPosixFilePermissions(p, perms(changes.getPermissions()));
            } catch (UnsupportedOperationException noPosix) {
                // a file system without permissions: nothing to keep (as most servers do)
            }
        }
        if (changes.getModified() != null || changes.getAccessed() != null) {
            Files.getFileAttributeView(p, BasicFileAttributeView.class).setTimes(
                    changes.getModified() != null ? FileTime.from(changes.getModified()) : null,
                    changes.getAccessed() != null ? FileTime.from(changes.getAccessed()) : null, null);
        }
    }

    @Override
    public void mkdir(String path) throws IOException {
        Files.createDirectory(resolve(path));
    }

    @Override
    public void rmdir(String path) throws IOException {
        Path p = resolve(path);
        if (p.equals(root)) {
            throw SftpException.denied("the root cannot be removed");
        }
        Files.delete(p);
    }

    @Override
    public void remove(String path) throws IOException {
        Path p = resolve(path);
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new SftpException(null, path + " is a directory");
        }
        Files.delete(p);
    }

    @Override
    public void rename(String from, String to) throws IOException {
        Path a = resolve(from);
        Path b = resolve(to);
        if (a.equals(root)) {
            throw SftpException.denied("the root cannot be renamed");
        }
        if (Files.exists(b, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(to); // SFTP v3 RENAME never replaces
        }
        try {
            Files.move(a, b, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.AtomicMoveNotSupportedException | UnsupportedOperationException e) {
            Files.move(a, b);
        }
    }

    @Override
    public void link(String linkPath, String target, boolean hard) throws IOException {
        Path link = resolve(linkPath);
        if (hard) {
            Files.createLink(link, resolve(target));
        } else {
            // The target is stored as the client wrote it; an absolute one is made relative to
            // the root so it never names a host path outside it.
            String t = target.startsWith("/") ? root.relativize(resolve(target)).toString() : target;
            Files.createSymbolicLink(link, link.getFileSystem().getPath(t.isEmpty() ? "." : t));
        }
    }

    @Override
    public String realpath(String path) throws IOException {
        return Paths.normalize(path);
    }

    /** An open file over a channel; positional when it is a FileChannel. */
    private static final class ChannelFile implements SftpFile {
        private final NioFileSystem fs;
        private final String path;
        private final SeekableByteChannel ch;
        private final FileChannel fc;

        ChannelFile(NioFileSystem fs, String path, SeekableByteChannel ch) {
            this.fs = fs;
            this.path = path;
            this.ch = ch;
            this.fc = ch instanceof FileChannel ? (FileChannel) ch : null;
        }

        @Override
        public int read(long offset, ByteBuffer dst) throws IOException {
            if (fc != null) {
                return fc.read(dst, offset);
            }
            synchronized (this) {
                seek(offset);
                return ch.read(dst);
            }
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            if (fc != null) {
                long at = offset;
                while (src.hasRemaining()) {
                    at += fc.write(src, at);
                }
                return;
            }
            synchronized (this) {
                seek(offset);
                while (src.hasRemaining()) {
                    ch.write(src);
                }
            }
        }

        private void seek(long offset) throws IOException {
            if (ch.position() == offset) {
                return;
            }
            try {
                ch.position(offset);
            } catch (UnsupportedOperationException sequentialOnly) {
                throw SftpException.unsupported("random access in " + path + " (this file system is sequential)");
            }
        }

        @Override
        public SftpAttributes stat() throws IOException {
            return fs.stat(path);
        }

        @Override
        public void setStat(SftpAttributes changes) throws IOException {
            if (changes.getSize() >= 0 && fc != null) {
                if (changes.getSize() < fc.size()) {
                    fc.truncate(changes.getSize());
                }
                changes = new SftpAttributes().permissions(changes.getPermissions()).modified(changes.getModified())
                        .accessed(changes.getAccessed());
            }
            fs.setStat(path, changes);
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
