# Cross-compiling sftpkit's native libraries for linux-arm64 on Debian (amd64 host) with
# gcc-aarch64-linux-gnu and the arm64 multiarch -dev packages (libssh-dev:arm64, libssl-dev:arm64,
# zlib1g-dev:arm64, libpython3.11-dev:arm64): scripts/install-deps installs them.
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=packaging/toolchain-aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
# Only arm64 libraries and headers: multiarch puts them under /usr/lib/aarch64-linux-gnu and
# /usr/include/aarch64-linux-gnu, which CMake searches because of CMAKE_LIBRARY_ARCHITECTURE.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# Binaries built here run under qemu-user-static (packaging/test-arm64).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
