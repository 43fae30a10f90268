"""Says what went wrong when the native half of sftpkit cannot be loaded.

Python's own message ("libcrypto.so.3: cannot open shared object file") names neither the platform
nor what the package expected; this one says both and what to do."""
import json
import os
import platform
import sys


def explain(error):
    here = os.path.dirname(os.path.abspath(__file__))
    where = "%s %s, Python %s (%s), %s" % (platform.system(), platform.machine(), platform.python_version(),
                                                 sys.implementation.cache_tag, " ".join(platform.libc_ver()) or "libc ?")
    manifest = os.path.join(here, "natives.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            m = json.load(f)
        hint = ("this wheel is for %s with glibc %s or newer and bundles libssh, OpenSSL and zlib (%s); install the "
                "wheel built for this platform and interpreter, or build from the sdist"
                % (m.get("platform"), m.get("glibc_floor"), os.path.join(here, "THIRD-PARTY-NOTICES.txt")))
    else:
        hint = ("this build uses the system's libssh 0.10 and OpenSSL 3 (Debian: apt-get install libssh-4 libssl3); "
                "the manylinux wheels bundle them")
    return "sftpkit: cannot load its native library on %s: %s; %s" % (where, error, hint)
