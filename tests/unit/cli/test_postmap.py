"""`vmail postmap` in-process: compile, -q, -q -, -s, -f, -i and error handling."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from vmail.cli.main import main


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        rc = main(["postmap", *args])
    except SystemExit as e:
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMAIL_CONFIG_DIR", str(tmp_path / "noconf"))


def test_compile_query_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "virtual"
    src.write_text("B@x 2\na@x 1\nbad\n")
    rc, out, err = run(capsys, monkeypatch, str(src))
    assert (rc, out) == (0, "")
    assert f"{src}:3: expected format" in err
    assert (tmp_path / "virtual.vmdb").exists()
    assert run(capsys, monkeypatch, "-q", "A@X", str(src))[:2] == (0, "1\n")
    assert run(capsys, monkeypatch, "-q", "zz", f"hash:{src}")[:2] == (1, "")
    assert run(capsys, monkeypatch, "-q", "-", str(src), stdin="A@X\nno\nb@x\n")[:2] == (
        0,
        "A@X\t1\nb@x\t2\n",
    )
    assert run(capsys, monkeypatch, "-s", str(src))[:2] == (0, "a@x\t1\nb@x\t2\n")


def test_no_fold_and_incremental(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "t"
    src.write_text("Mixed v\n")
    run(capsys, monkeypatch, "-f", str(src))
    assert run(capsys, monkeypatch, "-q", "Mixed", str(src))[0] == 1
    assert run(capsys, monkeypatch, "-fq", "Mixed", str(src))[:2] == (0, "v\n")
    run(capsys, monkeypatch, "-i", str(src), stdin="New 1\nmixed 2\n")
    assert run(capsys, monkeypatch, "-q", "new", str(src))[:2] == (0, "1\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-q", "a", "foo:x"), "unsupported dictionary type: foo"),
        (("-q", "a", "hash:/nonexistent/x"), "No such file"),
        (("-s", "static:x"), "sequence operation is not supported"),
        (("regexp:/dev/null",), "does not support bulk-mode creation"),
        (("-q", "a", "fail:x"), "query error"),
        (("-q", "a", "-s", "static:x"), "specify only one"),
        ((), "usage"),
    ],
)
def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    rc, out, err = run(capsys, monkeypatch, *args)
    assert rc == 1
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert err.startswith("vmail postmap")


def test_default_database_type_from_main_cf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "main.cf").write_text("default_database_type = btree\n")
    src = tmp_path / "t"
    src.write_text("a b\n")
    assert run(capsys, monkeypatch, "-c", str(conf), str(src))[0] == 0
    assert run(capsys, monkeypatch, "-c", str(conf), "-q", "a", str(src))[:2] == (0, "b\n")
