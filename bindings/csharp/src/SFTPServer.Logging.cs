#nullable enable
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using N = SFTPKit.Interop.SFTPKitNative;

namespace SFTPKit
{
    public sealed partial class SFTPServer
    {
        private volatile ILogger? _logger;
        private bool _logHandlerInstalled;

        /// <summary>
        /// Where the library's log and the handler errors go (Microsoft.Extensions.Logging). Setting
        /// it routes the native log lines (modules "ssh", "sftp", "server", ... as the log's
        /// category-like <c>Module</c> scope value) to this logger instead of standard error, and sets
        /// the native <c>LogLevel</c> to the most detailed level the logger has enabled, so the
        /// library formats nothing the logger would drop. Levels: fatal → Critical, error → Error,
        /// warning → Warning, info → Information, debug → Debug, trace → Trace. An exception thrown
        /// by an event handler (or a file system provider) is logged as Error with the exception.
        /// Set it before Start; null restores standard error.
        /// </summary>
        public ILogger? Logger
        {
            get => _logger;
            set
            {
                lock (_eventLock)
                {
                    _logger = value;
                    InstallLogHandler(value != null);
                    Config("LogLevel=" + NativeLevelFor(value));
                }
            }
        }

        private unsafe void InstallLogHandler(bool on)
        {
            using var h = Lease();
            if (!on)
            {
                if (_logHandlerInstalled)
                    Check(N.sftpkit_server_set_log_handler(h.Ptr, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero));
                _logHandlerInstalled = false;
                return;
            }
            if (_logHandlerInstalled)
                return;
            // weak, like the event handler's: the native side must not keep the server alive
            GCHandle self = GCHandle.Alloc(this, GCHandleType.Weak);
            int rc = N.sftpkit_server_set_log_handler(h.Ptr,
                (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, IntPtr, IntPtr, void>)&LogTrampoline,
                GCHandle.ToIntPtr(self),
                (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, void>)&ReleaseUser);
            if (rc != 0)
            {
                self.Free();
                throw SFTPKitException.FromLastError(rc);
            }
            _logHandlerInstalled = true;
        }

        /// <summary>The native LogLevel that lets through exactly what the logger has enabled.</summary>
        internal static string NativeLevelFor(ILogger? logger)
        {
            if (logger == null)
                return "none";
            if (logger.IsEnabled(LogLevel.Trace)) return "trace";
            if (logger.IsEnabled(LogLevel.Debug)) return "debug";
            if (logger.IsEnabled(LogLevel.Information)) return "info";
            if (logger.IsEnabled(LogLevel.Warning)) return "warning";
            if (logger.IsEnabled(LogLevel.Error)) return "error";
            if (logger.IsEnabled(LogLevel.Critical)) return "fatal";
            return "none";
        }

        /// <summary>The native level (1 fatal .. 6 trace) as a .NET LogLevel.</summary>
        internal static LogLevel MapLevel(int native) => native switch
        {
            1 => LogLevel.Critical,
            2 => LogLevel.Error,
            3 => LogLevel.Warning,
            4 => LogLevel.Information,
            5 => LogLevel.Debug,
            _ => LogLevel.Trace,
        };

        private static readonly EventId NativeLogEvent = new(1, "sftpkit");
        private static readonly EventId HandlerErrorEvent = new(2, "handler-exception");

        // Called by the library on server threads; nothing may unwind into native code.
        [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
        private static void LogTrampoline(IntPtr user, IntPtr server, int level, IntPtr module, IntPtr message)
        {
            try
            {
                if (GCHandle.FromIntPtr(user).Target is SFTPServer srv && srv._logger is ILogger log)
                {
                    LogLevel l = MapLevel(level);
                    if (log.IsEnabled(l))
                        log.Log(l, NativeLogEvent, "{Module}: {Message}", Marshal.PtrToStringUTF8(module) ?? "",
                            Marshal.PtrToStringUTF8(message) ?? "");
                }
            }
            catch (Exception ex)
            {
                WriteStandardError("sftpkit: the logger threw: " + ex);
            }
        }

        /// <summary>Handler errors to the logger; true when it took them.</summary>
        private bool LogHandlerError(Exception ex, string eventName)
        {
            ILogger? log = _logger;
            if (log == null)
                return false;
            try
            {
                log.Log(LogLevel.Error, HandlerErrorEvent, ex, "the {Event} handler threw (request denied)", eventName);
            }
            catch (Exception inner)
            {
                WriteStandardError("sftpkit: the logger threw: " + inner);
            }
            return true;
        }
    }
}
