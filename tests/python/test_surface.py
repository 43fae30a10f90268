"""The Python surface is the reference document's, name for name (spec/sftpserver.json)."""
import inspect

import pytest

import sftpkit
from sftpkit import SFTPServer


def test_public_names():
    from sftpkit import SFTPServer, SSHKey, SFTPKitError  # noqa: F401 - the contract's import line
    assert issubclass(SFTPKitError, Exception)


def test_every_property(spec):
    for p in spec["properties"]:
        name = p["name"]
        assert callable(getattr(SFTPServer, "get_" + name)), name
        has_setter = hasattr(SFTPServer, "set_" + name)
        assert has_setter == (not p["readonly"]), name
        if p["index"]:
            params = list(inspect.signature(getattr(SFTPServer, "get_" + name)).parameters)
            assert params == ["self", p["index"]], name
            assert not isinstance(getattr(SFTPServer, name, None), property), name
        else:
            prop = getattr(SFTPServer, name)
            assert isinstance(prop, property), name
            assert (prop.fset is None) == p["readonly"], name
            assert prop.__doc__, name


def test_every_method(spec):
    for m in spec["methods"]:
        fn = getattr(SFTPServer, m["name"])
        params = list(inspect.signature(fn).parameters)[1:]
        assert params == [a["name"] for a in m["params"]], m["name"]
        assert fn.__doc__


def test_every_event(spec):
    for e in spec["events"]:
        assert e["name"] in sftpkit.EVENT_IDS
        attr = SFTPServer.__dict__[e["name"]]
        assert attr.__doc__
        short = e["name"][3:]
        cls = getattr(sftpkit, "SFTPServer%sEventParams" % "".join(w.title() for w in short.split("_")))
        for p in e["params"]:
            prop = getattr(cls, p["name"])
            assert isinstance(prop, property), (e["name"], p["name"])
            assert (prop.fset is not None) == bool(p.get("byref")), (e["name"], p["name"])
    assert len(sftpkit.EVENT_IDS) == 42  # the document's 39, sftpkit's link pair and on_auth_password_change


def test_constants():
    assert sftpkit.OperationStatus.OK == 1 and sftpkit.OperationStatus.EOF == 7
    assert sftpkit.ostOk == 1 and sftpkit.ostEOF == 7 and sftpkit.ostAccessDenied == 3
    assert sftpkit.Action.ABORT == sftpkit.FileRequestAction.ABORT == sftpkit.fraAbort == 3
    assert sftpkit.fraAuto == 1 and sftpkit.fraCustom == 2
    assert sftpkit.AuthType.PASSWORD | sftpkit.AuthType.PUBLIC_KEY == 6
    assert sftpkit.atPassword == 4 and sftpkit.atKeyboard == 16
    assert sftpkit.FileOpenMode.WRITE | sftpkit.cfmCreate | sftpkit.cfmTruncate == 26
    assert sftpkit.FileType.DIRECTORY == sftpkit.cftDirectory == 1 and sftpkit.cftFIFO == 8
    assert sftpkit.ErrorCode.INVALID_PARAMETER == sftpkit.ERROR_INVALID_PARAMETER == 1048577
    assert sftpkit.ExternalCryptoMode.DC_AUTH_JSON == 4


def test_version():
    assert sftpkit.version() == sftpkit.__version__
    assert sftpkit.__version__.count(".") == 2


@pytest.mark.parametrize("name", ["SFTPServer", "SSHKey", "SFTPKitError", "OperationStatus",
                                  "SFTPServerAuthPasswordEventParams"])
def test_stub_mentions(name):
    import os
    stub = os.path.join(os.path.dirname(sftpkit.__file__), "__init__.pyi")
    with open(stub, encoding="utf-8") as f:
        text = f.read()
    assert "class %s" % name in text
