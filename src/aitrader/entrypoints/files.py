"""Files a command writes as a set (a run's four reports, a signal frame and its models): every
one of them in place, or none changed."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

Write = Callable[[Path], None]


def write_all(writes: Sequence[tuple[Path, Write]]) -> None:
    """Write each file through a new file beside its target, then move them all into place:
    either every target is written or none is changed. Any failure (Ctrl-C included) removes
    the new files; one while moving puts back the targets already moved (the previous file,
    kept as a second name beside it until every file is in place, or none). An OSError is
    raised with the target's path as its filename."""
    temps: list[tuple[Path, Path]] = []
    kept: dict[Path, Path] = {}  # target -> its previous file
    moved: list[Path] = []
    path = Path()
    try:
        for path, write in writes:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "it is a directory", str(path))
            temps.append((_new_beside(path, "tmp"), path))
            write(temps[-1][0])
        for _temp, path in temps:
            if os.path.lexists(path):
                kept[path] = _kept(path)
        for temp, path in temps:
            os.replace(temp, path)
            moved.append(path)
    except BaseException as error:  # (Ctrl-C between two moves too)
        for done in reversed(moved):  # the set goes together or not at all
            with contextlib.suppress(OSError):  # (the error below is said either way)
                if done in kept:
                    os.replace(kept.pop(done), done)
                else:
                    done.unlink()
        if isinstance(error, OSError) and error.filename != str(path):
            raise OSError(error.errno, error.strerror or str(error), str(path)) from None
        raise
    finally:
        for left in [t for t, _ in temps] + list(kept.values()):
            left.unlink(missing_ok=True)


def _new_beside(path: Path, suffix: str) -> Path:
    """A new empty file beside path, created like any file (mode 0o666 less the umask)."""
    while True:
        name = path.with_name(f".{path.name}.{secrets.token_hex(6)}.{suffix}")
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return name


def _kept(path: Path) -> Path:
    """A second name for path's file beside it (a hard link, or a copy where the file system
    has none), so that it can be put back; a symbolic link is kept as the link."""
    while True:
        name = path.with_name(f".{path.name}.{secrets.token_hex(6)}.old")
        try:
            os.link(path, name, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:
            try:
                shutil.copy2(path, name, follow_symlinks=False)
            except BaseException:
                name.unlink(missing_ok=True)
                raise
        return name
