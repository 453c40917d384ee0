"""The one staged-folder write (train/pair.py, export, importers and medteb submit use it)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from medteb import _fileio
from medteb._fileio import staged, temp_file, write_atomic, write_folder


def _fill(text: str):
    def write(folder: Path) -> None:
        (folder / "sub").mkdir()
        (folder / "sub" / "a.txt").write_text(text, encoding="utf-8")
    return write


def test_write_folder_creates_and_replaces_leaving_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "model"
    write_folder(target, _fill("one"))
    assert (target / "sub" / "a.txt").read_text(encoding="utf-8") == "one"
    seen = []

    def write(folder: Path) -> None:  # the old folder stays readable while the new is written
        seen.append((target / "sub" / "a.txt").read_text(encoding="utf-8"))
        _fill("two")(folder)

    write_folder(target, write)
    assert seen == ["one"]
    assert (target / "sub" / "a.txt").read_text(encoding="utf-8") == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~_fileio._umask()


def test_a_failed_write_keeps_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "model"
    write_folder(target, _fill("one"))

    def broken(folder: Path) -> None:
        _fill("half")(folder)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_folder(target, broken)
    assert (target / "sub" / "a.txt").read_text(encoding="utf-8") == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    with pytest.raises(RuntimeError, match="disk full"):
        write_folder(tmp_path / "new", broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_failed_rename_puts_the_old_folder_back(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model"
    write_folder(target, _fill("one"))
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(Path(dst).name)
        if Path(dst) == target and len(calls) == 2:  # the new folder's rename
            raise OSError("rename refused")
        return real(src, dst)

    monkeypatch.setattr(_fileio, "_exchange", lambda a, b: False)  # the portable path
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="rename refused"):
        write_folder(target, _fill("two"))
    assert calls == ["old", "model", "model"]  # aside, in (refused), back
    assert (target / "sub" / "a.txt").read_text(encoding="utf-8") == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_on_linux_the_old_folder_is_swapped_out_in_one_step(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model"
    write_folder(target, _fill("one"))
    real = os.replace

    def replace(src, dst):  # renaming the target aside would leave a moment without it
        if Path(src) == target:
            raise AssertionError("the target was renamed aside")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_folder(target, _fill("two"))
    assert (target / "sub" / "a.txt").read_text(encoding="utf-8") == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    with pytest.raises(FileNotFoundError):  # a real error is raised, not taken for "cannot"
        _fileio._exchange(tmp_path / "missing", target)


def test_without_the_swap_the_old_folder_is_renamed_aside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fileio, "_exchange", lambda a, b: False)
    target = tmp_path / "model"
    write_folder(target, _fill("one"))
    write_folder(target, _fill("two"))
    assert (target / "sub" / "a.txt").read_text(encoding="utf-8") == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_staged_removes_its_folder_and_temp_file_cleans_up(tmp_path: Path) -> None:
    with staged(tmp_path / "out", ".import-") as folder:
        assert folder.parent == tmp_path / "out" and folder.name.startswith(".import-")
        (folder / "x").write_text("x")
    assert list((tmp_path / "out").iterdir()) == []
    with pytest.raises(ValueError, match="bad"), staged(tmp_path, ".s-"):
        raise ValueError("bad")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    def broken(path: str) -> None:
        Path(path).write_text("half")
        raise ValueError("no space")

    with pytest.raises(ValueError, match="no space"):
        temp_file(tmp_path / "f.txt", broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    write_atomic(tmp_path / "f.txt", "é\n")
    assert (tmp_path / "f.txt").read_bytes() == "é\n".encode()
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o666 & ~_fileio._umask()
