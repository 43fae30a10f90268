#nullable enable
using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SFTPKit
{
    /// <summary>
    /// Turns a failed load of the native glue into an error that says what is wrong. Without it a
    /// missing native library surfaces as a bare <c>DllNotFoundException 'sftpkit_csharp'</c>
    /// inside a <c>TypeInitializationException</c>, naming neither the platform nor the file the
    /// dynamic linker could not find.
    /// </summary>
    internal static class NativeLibraryCheck
    {
        private const string GlueName = "sftpkit_csharp";

#pragma warning disable CA2255 // a library's module initializer is the point: it runs before any P/Invoke
        [ModuleInitializer]
        internal static void Register()
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryCheck).Assembly, Resolve);
        }
#pragma warning restore CA2255

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != GlueName)
            {
                return IntPtr.Zero; // the runtime's default probing
            }
            if (NativeLibrary.TryLoad(name, assembly, searchPath, out IntPtr handle))
            {
                return handle;
            }
            throw new DllNotFoundException(Describe());
        }

        /// <summary>The platform, where the library was looked for and the dynamic linker's own words.</summary>
        private static string Describe()
        {
            string rid = RuntimeInformation.RuntimeIdentifier;
            string arch = RuntimeInformation.ProcessArchitecture.ToString();
            string file = "lib" + GlueName + ".so";
            string detail = "not found next to the application nor under runtimes/<rid>/native/";
            foreach (string dir in Candidates(rid))
            {
                string path = Path.Combine(dir, file);
                if (!File.Exists(path))
                {
                    continue;
                }
                try
                {
                    NativeLibrary.Free(NativeLibrary.Load(path));
                    detail = path + " loads now; an earlier attempt failed";
                }
                catch (Exception e)
                {
                    detail = path + ": " + e.Message; // dlerror(): the missing dependency or the glibc version
                }
                break;
            }
            return "SFTPKit: cannot load the native library " + file + " on " + RuntimeInformation.OSDescription
                + " (" + rid + ", " + arch + "): " + detail + ". The SFTPKit package carries it for linux-x64 and "
                + "linux-arm64 with libssh, OpenSSL and zlib bundled (runtimes/<rid>/native/), needing only glibc 2.34 "
                + "or newer; other platforms (musl, Windows, macOS) are not supported. A project published for a "
                + "runtime identifier must use linux-x64 or linux-arm64.";
        }

        private static string[] Candidates(string rid)
        {
            string baseDir = AppContext.BaseDirectory;
            string arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
            return new[]
            {
                baseDir,
                Path.Combine(baseDir, "runtimes", rid, "native"),
                Path.Combine(baseDir, "runtimes", arch, "native"),
            };
        }
    }
}
