/* An arm64 `python3` for the qemu-user test (packaging/test-arm64): Debian's arm64 libpython3.11
 * (libpython3.11:arm64, co-installable with the amd64 interpreter, unlike python3.11:arm64 itself)
 * behind the interpreter's own main. The standard library's .py files are shared with the amd64
 * interpreter; its arm64 extension modules come from libpython3.11-stdlib:arm64. */
#include <Python.h>

int main(int argc, char **argv)
{
    return Py_BytesMain(argc, argv);
}
