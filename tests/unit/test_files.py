"""write_all: a set of files goes into place whole, or leaves every target as it was."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from aitrader.entrypoints.files import write_all


def _text(text: str) -> Any:
    return lambda path: path.write_text(text)


def test_a_file_that_cannot_be_written_is_named_by_its_target_and_nothing_is_left(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.csv").write_text("old a\n")

    def full(path: Path) -> None:
        path.write_text("half")
        raise OSError(28, "No space left on device", str(path))

    with pytest.raises(OSError, match="No space left") as raised:
        write_all([(tmp_path / "a.csv", _text("new a\n")), (tmp_path / "b.csv", full)])

    assert raised.value.filename == str(tmp_path / "b.csv")  # not the temporary file's name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    assert (tmp_path / "a.csv").read_text() == "old a\n"


def test_a_directory_where_a_file_goes_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    (tmp_path / "b.csv").mkdir()
    written: list[Path] = []

    with pytest.raises(IsADirectoryError) as raised:
        write_all([(tmp_path / "a.csv", written.append), (tmp_path / "b.csv", written.append)])

    assert raised.value.filename == str(tmp_path / "b.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv"]


def test_a_symbolic_link_being_replaced_is_put_back_as_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real.csv").write_text("real\n")
    (tmp_path / "a.csv").symlink_to("real.csv")
    replace = os.replace

    def refusing(source: Any, target: Any) -> None:
        if Path(target) == tmp_path / "b.csv":
            raise PermissionError(13, "Permission denied")
        replace(source, target)

    monkeypatch.setattr(os, "replace", refusing)
    with pytest.raises(PermissionError):
        write_all([(tmp_path / "a.csv", _text("new a\n")), (tmp_path / "b.csv", _text("b\n"))])

    assert os.readlink(tmp_path / "a.csv") == "real.csv"
    assert (tmp_path / "real.csv").read_text() == "real\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "real.csv"]


def test_without_hard_links_the_previous_file_is_kept_as_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.csv").write_text("old a\n")
    replace = os.replace

    def no_links(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(1, "Operation not permitted")  # as on a file system without links

    def refusing(source: Any, target: Any) -> None:
        if Path(target) == tmp_path / "b.csv":
            raise KeyboardInterrupt
        replace(source, target)

    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(os, "replace", refusing)
    with pytest.raises(KeyboardInterrupt):
        write_all([(tmp_path / "a.csv", _text("new a\n")), (tmp_path / "b.csv", _text("b\n"))])

    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    assert (tmp_path / "a.csv").read_text() == "old a\n"


def test_the_whole_set_replaces_the_previous_files(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("old a\n")

    write_all([(tmp_path / "a.csv", _text("new a\n")), (tmp_path / "b.csv", _text("b\n"))])

    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "a.csv": "new a\n", "b.csv": "b\n"}
