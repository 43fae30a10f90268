package org.sftpkit;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A file of a {@link MemoryFileSystem} as OPEN returned it: the node, and what the open allows. */
final class MemoryOpenFile implements SftpFile {
    final MemoryFileSystem fs;
    final MemoryNode node;
    private final String name;
    private final boolean writable;
    private final boolean append;

    MemoryOpenFile(MemoryFileSystem fs, MemoryNode node, String name, boolean writable, boolean append) {
        this.fs = fs;
        this.node = node;
        this.name = name;
        this.writable = writable;
        this.append = append;
    }

    @Override
    public int read(long offset, ByteBuffer dst) {
        return node.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        if (!writable) {
            throw SftpException.denied("the file is open for reading only");
        }
        node.write(offset, src, append, fs);
    }

    @Override
    public SftpAttributes stat() {
        return node.attributes(name);
    }

    @Override
    public void setStat(SftpAttributes changes) throws IOException {
        node.setStat(changes, fs);
    }
}
