package org.sftpkit;

import java.time.Instant;

/**
 * A file's attributes as a provider reports them (stat, listings) or as a client asks to change
 * them (setstat). Every field may be unset: {@code null}, or -1 for the size. Fluent setters:
 * {@code SftpAttributes.file("a.txt", 12).modified(t)}.
 *
 * <p>Permissions are the nine rwx bits of a POSIX mode ({@code 0644}); the type comes from
 * {@link #type(FileType)}. A listing entry without permissions is sent as 0644 (files) or 0755
 * (directories).
 */
public final class SftpAttributes {
    private String name;
    private FileType type;
    private long size = -1;
    private Integer permissions;
    private Instant modified;
    private Instant accessed;
    private String owner;
    private String longName;

    /** Attributes with nothing set. */
    public SftpAttributes() {
    }

    /**
     * A regular file.
     *
     * @param name the file's name (the last path component)
     * @param size its size in bytes
     * @return new attributes
     */
    public static SftpAttributes file(String name, long size) {
        return new SftpAttributes().name(name).type(FileType.cftFile).size(size);
    }

    /**
     * A directory.
     *
     * @param name the directory's name (the last path component)
     * @return new attributes
     */
    public static SftpAttributes directory(String name) {
        return new SftpAttributes().name(name).type(FileType.cftDirectory);
    }

    /**
     * Sets the name (listings need it; stat replies ignore it).
     *
     * @param value the last path component
     * @return this
     */
    public SftpAttributes name(String value) {
        name = value;
        return this;
    }

    /**
     * Sets the type.
     *
     * @param value the type, or {@code null} for unset
     * @return this
     */
    public SftpAttributes type(FileType value) {
        type = value;
        return this;
    }

    /**
     * Sets the size.
     *
     * @param value bytes, or -1 for unset
     * @return this
     */
    public SftpAttributes size(long value) {
        size = value;
        return this;
    }

    /**
     * Sets the permission bits.
     *
     * @param value the rwx bits of a POSIX mode (0 to 0777), or {@code null} for unset
     * @return this
     */
    public SftpAttributes permissions(Integer value) {
        if (value != null && (value < 0 || value > 0777)) {
            throw new IllegalArgumentException("permissions are the nine rwx bits (0..0777): " + Integer.toOctalString(value));
        }
        permissions = value;
        return this;
    }

    /**
     * Sets the modification time.
     *
     * @param value the time, or {@code null} for unset
     * @return this
     */
    public SftpAttributes modified(Instant value) {
        modified = value;
        return this;
    }

    /**
     * Sets the access time.
     *
     * @param value the time, or {@code null} for unset
     * @return this
     */
    public SftpAttributes accessed(Instant value) {
        accessed = value;
        return this;
    }

    /**
     * Sets the owner's name (shown in the long listing).
     *
     * @param value the name, or {@code null}
     * @return this
     */
    public SftpAttributes owner(String value) {
        owner = value;
        return this;
    }

    /**
     * Sets the long name (an {@code ls -l} line; when unset the server writes one).
     *
     * @param value the line, or {@code null}
     * @return this
     */
    public SftpAttributes longName(String value) {
        longName = value;
        return this;
    }

    /**
     * The name.
     *
     * @return the name, or {@code null}
     */
    public String getName() {
        return name;
    }

    /**
     * The type.
     *
     * @return the type, or {@code null} when unset
     */
    public FileType getType() {
        return type;
    }

    /**
     * Whether the type is a directory.
     *
     * @return true for a directory
     */
    public boolean isDirectory() {
        return type == FileType.cftDirectory;
    }

    /**
     * The size.
     *
     * @return bytes, or -1 when unset
     */
    public long getSize() {
        return size;
    }

    /**
     * The permission bits.
     *
     * @return 0..0777, or {@code null} when unset
     */
    public Integer getPermissions() {
        return permissions;
    }

    /**
     * The modification time.
     *
     * @return the time, or {@code null} when unset
     */
    public Instant getModified() {
        return modified;
    }

    /**
     * The access time.
     *
     * @return the time, or {@code null} when unset
     */
    public Instant getAccessed() {
        return accessed;
    }

    /**
     * The owner's name.
     *
     * @return the name, or {@code null}
     */
    public String getOwner() {
        return owner;
    }

    /**
     * The long name.
     *
     * @return the line, or {@code null}
     */
    public String getLongName() {
        return longName;
    }

    @Override
    public String toString() {
        return "SftpAttributes[" + name + " " + type + " size=" + size
                + (permissions != null ? " mode=0" + Integer.toOctalString(permissions) : "")
                + (modified != null ? " mtime=" + modified : "") + "]";
    }
}
