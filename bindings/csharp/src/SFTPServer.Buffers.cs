#nullable enable
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace SFTPKit
{
    /// <summary>
    /// The data of a READ or WRITE in memory the handler owns, with no allocation (#14 item 4): the
    /// WRITE's bytes are copied once into the caller's Span, a READ reply once out of the caller's
    /// Span. The byte[] forms (GetClientBuffer / SetClientBuffer) allocate per call; these do not.
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
            if (TrySetDeferredData(connectionId, handle, data)) // after an await in OnReadFileAsync
                return;
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
        /// <paramref name="destination"/> and returns how many bytes it holds, with no allocation.
        /// A WRITE carries at most <see cref="MaxWriteLength"/> bytes, so one buffer of that size
        /// (per thread) always fits; a smaller destination that cannot hold the data throws
        /// SFTPKitException (InvalidParameter) and copies nothing.
        /// </summary>
        public unsafe int GetClientBuffer(long connectionId, string? handle, Span<byte> destination)
        {
            if (TryGetDeferredData(connectionId, handle, destination) is int copied) // in OnWriteFileAsync
                return copied;
            using var h = Lease();
            Span<byte> name = stackalloc byte[MaxHandleBytes + 1];
            nuint len;
            fixed (byte* d = destination)
            fixed (byte* n = EncodeHandle(handle, name))
                Check(BufferNative.get_client_buffer_into(h.Ptr, connectionId, n, d, (nuint)destination.Length, &len));
            return checked((int)len);
        }

        /// <summary><see cref="GetClientBuffer(long, string, Span{byte})"/> for a Memory.</summary>
        public int GetClientBuffer(long connectionId, string? handle, Memory<byte> destination) =>
            GetClientBuffer(connectionId, handle, destination.Span);

        /// <summary>The most data one WRITE (and one READ reply) carries: 261120 bytes.</summary>
        public const int MaxWriteLength = 261120;

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

        [DllImport(Lib, EntryPoint = "sftpkit_server_get_client_buffer_into", CallingConvention = CallingConvention.Cdecl)]
        internal static extern int get_client_buffer_into(IntPtr s, long connectionId, byte* handle, byte* dst, nuint cap, nuint* len);
    }
}
