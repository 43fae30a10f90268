package org.sftpkit;

/**
 * SftpAttributes to and from the client_file_entry_* properties (per handler call, so no lock):
 * the entries of listings and stat replies, and the change a SETSTAT asks for.
 */
final class Entries {
    private Entries() {
    }

    /** Fills every client_file_entry_* field (they keep their values between entries). */
    static void put(SFTPServer s, SftpAttributes a, String path, boolean listing) {
        boolean dir = a.isDirectory();
        int mode = a.getPermissions() != null ? a.getPermissions() : (dir ? 0755 : 0644);
        s.setClientFileEntryName(a.getName() != null ? a.getName() : Paths.name(path));
        s.setClientFileEntryPath(path);
        s.setClientFileEntryDirectory(dir);
        s.setClientFileEntryFileType(a.getType() != null ? a.getType() : FileType.cftFile);
        s.setClientFileEntrySize(a.getSize());
        s.setClientFileEntryMTime(a.getModified());
        s.setClientFileEntryATime(a.getAccessed() != null ? a.getAccessed() : a.getModified());
        s.setClientFileEntryUserRead((mode & 0400) != 0);
        s.setClientFileEntryUserWrite((mode & 0200) != 0);
        s.setClientFileEntryUserExecute((mode & 0100) != 0);
        s.setClientFileEntryGroupRead((mode & 040) != 0);
        s.setClientFileEntryGroupWrite((mode & 020) != 0);
        s.setClientFileEntryGroupExecute((mode & 010) != 0);
        s.setClientFileEntryOtherRead((mode & 04) != 0);
        s.setClientFileEntryOtherWrite((mode & 02) != 0);
        s.setClientFileEntryOtherExecute((mode & 01) != 0);
        s.setClientFileEntryOwner(a.getOwner() != null ? a.getOwner() : "");
        s.setClientFileEntryLongName(listing && a.getLongName() != null ? a.getLongName() : "");
    }

    /** The client_file_entry_* values get_client_file_entry filled during on_set_attributes. */
    static SftpAttributes requestedChange(SFTPServer s) {
        SftpAttributes a = new SftpAttributes().size(s.getClientFileEntrySize());
        FileType t = s.getClientFileEntryFileType();
        if (t != null && t != FileType.cftUnknown) { // cftUnknown: permissions not part of the request
            int mode = (s.getClientFileEntryUserRead() ? 0400 : 0) | (s.getClientFileEntryUserWrite() ? 0200 : 0)
                    | (s.getClientFileEntryUserExecute() ? 0100 : 0) | (s.getClientFileEntryGroupRead() ? 040 : 0)
                    | (s.getClientFileEntryGroupWrite() ? 020 : 0) | (s.getClientFileEntryGroupExecute() ? 010 : 0)
                    | (s.getClientFileEntryOtherRead() ? 04 : 0) | (s.getClientFileEntryOtherWrite() ? 02 : 0)
                    | (s.getClientFileEntryOtherExecute() ? 01 : 0);
            a.permissions(mode);
        }
        return a.modified(s.getClientFileEntryMTime()).accessed(s.getClientFileEntryATime());
    }
}
