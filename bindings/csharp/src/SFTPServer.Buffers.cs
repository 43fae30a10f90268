#nullable enable
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace SFTPKit
{
    /// <summary>
    /// The data of a READ or WRITE without copies or allocations (#14 item 4): the handler reads the
    /// client's WRITE data from, and fills a READ reply into, memory it owns or the library's own
    /// buffers. The byte[] forms (GetClientBuffer / SetClientBuffer) allocate per call; these do not.
    /// Same rules as the byte[] forms: inside on_write_file / on_read_file; an empty or null handle
    /// means "the request in progress" (the cheapest form: nothing to encode).
    /// </summary>
    public sealed partial class SFTPServer
    {
        /// <summary>
        /// Supplies the data of the READ in progress (inside on_read_file); at most the event's Size
        /// bytes are sent. Copies once, straight from <paramref name="data"/> into the reply.
        /// </summary>
        public unsafe void SetClientBuffer(long connectionId, string? handle, ReadOnlySpan<byte> data)
        {
            using var h = Lease();
            Span<byte> name = stackalloc byte[MaxHandleBytes + 1];
            fixed (byte* p = data)
            fixed (byte* n = EncodeHandle(handle, name))
                Check(BufferNative.set_client_buffer(h.Ptr, connectionId, n, p, (nuint)data.Length));
        }

        /// <summary><see cref="SetClientBuffer(long, string, ReadOnlySpan{byte})"/> for a Memory.</summary>
        public void SetClientBuffer(long connectionId, string? handle, ReadOnlyMemory<byte> data) =>
            SetClientBuffer(connectionId, handle, data.Span);

        /// <summary>
        /// Copies the data of the WRITE in progress (inside on_write_file) into
        /// <paramref name="destination"/> and returns how many bytes it holds; throws
        /// ArgumentException when the destination is too small (nothing is copied then).
        /// </summary>
        public int GetClientBuffer(long connectionId, string? handle, Span<byte> destination)
        {
            ReadOnlySpan<byte> data = PeekClientBuffer(connectionId, handle);
            if (data.Length > destination.Length)
                throw new ArgumentException($"the write holds {data.Length} bytes, the destination only {destination.Length}",
                    nameof(destination));
            data.CopyTo(destination);
            return data.Length;
        }

        /// <summary><see cref="GetClientBuffer(long, string, Span{byte})"/> for a Memory.</summary>
        public int GetClientBuffer(long connectionId, string? handle, Memory<byte> destination) =>
            GetClientBuffer(connectionId, handle, destination.Span);

        /// <summary>
        /// The data of the WRITE in progress (inside on_write_file) without any copy: a view of the
        /// library's own buffer, valid only until the handler returns (never keep it).
        /// </summary>
        public unsafe ReadOnlySpan<byte> PeekClientBuffer(long connectionId, string? handle)
        {
            using var h = Lease();
            Span<byte> name = stackalloc byte[MaxHandleBytes + 1];
            byte* data;
            nuint len;
            fixed (byte* n = EncodeHandle(handle, name))
                Check(BufferNative.peek_client_buffer(h.Ptr, connectionId, n, &data, &len));
            return new ReadOnlySpan<byte>(data, checked((int)len));
        }

        /// <summary>
        /// The reply's own room for the READ in progress (inside on_read_file; its length is the most
        /// that will be sent): fill a prefix of it, then call
        /// <see cref="CommitClientBuffer"/> with the count. No copy at all. Valid until the handler
        /// returns.
        /// </summary>
        public unsafe Span<byte> LendClientBuffer(long connectionId, string? handle)
        {
            using var h = Lease();
            Span<byte> name = stackalloc byte[MaxHandleBytes + 1];
            byte* buf;
            nuint cap;
            fixed (byte* n = EncodeHandle(handle, name))
                Check(BufferNative.lend_client_buffer(h.Ptr, connectionId, n, &buf, &cap));
            return new Span<byte>(buf, checked((int)cap));
        }

        /// <summary>Sends the first <paramref name="count"/> bytes of the room <see cref="LendClientBuffer"/> gave.</summary>
        public unsafe void CommitClientBuffer(long connectionId, string? handle, int count)
        {
            using var h = Lease();
            Span<byte> name = stackalloc byte[MaxHandleBytes + 1];
            byte* buf;
            nuint cap;
            fixed (byte* n = EncodeHandle(handle, name))
            {
                Check(BufferNative.lend_client_buffer(h.Ptr, connectionId, n, &buf, &cap));
                if ((uint)count > cap)
                    throw new ArgumentOutOfRangeException(nameof(count), $"{count} is outside 0..{cap}, the room lent");
                Check(BufferNative.set_client_buffer(h.Ptr, connectionId, n, buf, (nuint)count));
            }
        }

        /// <summary>
        /// Inside a handler of a request: the text the client gets with that request's failure status
        /// (the status itself is the handler's OperationStatus). An SftpException thrown by a file
        /// system provider sets it for you.
        /// </summary>
        public unsafe void SetClientStatusMessage(long connectionId, string? handle, string message)
        {
            using var h = Lease();
            Span<byte> name = stackalloc byte[MaxHandleBytes + 1];
            byte[] text = Utf8.Encode(message ?? "");
            fixed (byte* n = EncodeHandle(handle, name))
            fixed (byte* t = text)
                Check(BufferNative.set_client_status_message(h.Ptr, connectionId, n, t));
        }

        // Handles are at most 256 bytes (docs/file-system.md "Handles"); longer cannot name anything.
        private const int MaxHandleBytes = 1024;

        /// <summary>NUL-terminated UTF-8 of handle in scratch, with no allocation.</summary>
        private static ReadOnlySpan<byte> EncodeHandle(string? handle, Span<byte> scratch)
        {
            if (string.IsNullOrEmpty(handle))
            {
                scratch[0] = 0;
                return scratch[..1];
            }
            if (handle.IndexOf('\0') >= 0)
                throw new ArgumentException("a handle must not contain NUL characters", nameof(handle));
            if (Encoding.UTF8.GetMaxByteCount(handle.Length) > MaxHandleBytes && Encoding.UTF8.GetByteCount(handle) > MaxHandleBytes)
                throw new ArgumentException("handle is too long", nameof(handle));
            int n = Encoding.UTF8.GetBytes(handle, scratch);
            scratch[n] = 0;
            return scratch[..(n + 1)];
        }
    }

    /// <summary>
    /// Direct P/Invokes for the pointer-taking calls (SWIG's layer marshals byte[] only). They bind
    /// to the SWIG glue library, whose dependency libsftpkit.so.1 exports them: dlsym on a library
    /// searches its dependencies too, so no second library name is needed.
    /// </summary>
    internal static unsafe class BufferNative
    {
        private const string Lib = "sftpkit_csharp";

        [DllImport(Lib, EntryPoint = "sftpkit_server_set_client_buffer", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int set_client_buffer(IntPtr s, long connectionId, byte* handle, byte* data, nuint len);

        [DllImport(Lib, EntryPoint = "sftpkit_server_peek_client_buffer", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int peek_client_buffer(IntPtr s, long connectionId, byte* handle, byte** data, nuint* len);

        [DllImport(Lib, EntryPoint = "sftpkit_server_lend_client_buffer", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lend_client_buffer(IntPtr s, long connectionId, byte* handle, byte** buf, nuint* cap);

        [DllImport(Lib, EntryPoint = "sftpkit_server_set_client_status_message", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int set_client_status_message(IntPtr s, long connectionId, byte* handle, byte* message);
    }
}
