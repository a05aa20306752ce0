"""hash/btree/... tables: compiled .vmdb files, automatic rebuilds, fallbacks."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from vmail.core.errors import ConfigError
from vmail.tables import Maps, indexed, open_table
from vmail.tables.compiled import compile_source, compiled_path


def test_lookup_compiles_on_first_open(tmp_path: Path) -> None:
    src = tmp_path / "virtual"
    src.write_text("Foo@Example.com bar\n")
    maps = Maps("virtual_alias_maps", [open_table(f"hash:{src}")])
    assert compiled_path(src).exists()
    assert not (tmp_path / "virtual.db").exists()
    assert maps.find("FOO@example.com") == "bar"
    assert maps.find("nobody") is None


@pytest.mark.parametrize("table_type", ["hash", "btree", "lmdb", "cdb", "dbm"])
def test_all_indexed_types(tmp_path: Path, table_type: str) -> None:
    src = tmp_path / "t"
    src.write_text("a b\n")
    assert open_table(f"{table_type}:{src}").lookup("a") == "b"


def test_source_change_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexed, "CHECK_INTERVAL", 0.0)
    src = tmp_path / "t"
    src.write_text("a 1\n")
    table = open_table(f"hash:{src}")
    assert table.lookup("a") == "1"
    src.write_text("a 2\nb 3\n")
    os.utime(src, ns=(1, 10**18))
    assert table.lookup("a") == "2"
    assert table.lookup("b") == "3"


def test_rebuild_keeps_no_fold_setting(tmp_path: Path) -> None:
    src = tmp_path / "t"
    src.write_text("Mixed v\n")
    compile_source(src, fold_case=False)
    src.write_text("Mixed w\n")
    os.utime(src, ns=(1, 10**18))
    table = open_table(f"hash:{src}")
    assert table.lookup("Mixed") == "w"


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing"):
        open_table(f"hash:{tmp_path / 'missing'}")


def test_compiled_file_alone_is_used(tmp_path: Path) -> None:
    src = tmp_path / "t"
    src.write_text("a 1\n")
    compile_source(src)
    src.unlink()
    assert open_table(f"hash:{src}").lookup("a") == "1"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_directory_reads_source(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    (d / "t").write_text("a 1\n")
    d.chmod(0o555)
    try:
        assert open_table(f"hash:{d / 't'}").lookup("a") == "1"
        assert not compiled_path(d / "t").exists()
    finally:
        d.chmod(0o755)


def test_read_only_fallback_via_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t").write_text("a 1\n")
    monkeypatch.setattr(indexed.os, "access", lambda *a: False)
    table = open_table(f"hash:{tmp_path / 't'}")
    assert table.lookup("a") == "1"
    assert not compiled_path(tmp_path / "t").exists()


def test_threads_share_a_table(tmp_path: Path) -> None:
    src = tmp_path / "t"
    src.write_text("".join(f"k{i} v{i}\n" for i in range(200)))
    table = open_table(f"hash:{src}")
    errors: list[str] = []

    def work() -> None:
        for i in range(200):
            if table.lookup(f"k{i}") != f"v{i}":
                errors.append(f"k{i}")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_texthash(tmp_path: Path) -> None:
    src = tmp_path / "t"
    src.write_text("A@X b\nfoo bar baz\nfoo dup\n")
    table = open_table(f"texthash:{src}")
    assert table.lookup("a@x") == "b"
    assert table.lookup("foo") == "bar baz"
    assert not compiled_path(src).exists()
