"""Files on disk: the howsure cache folder and writes that never leave a half-written file.

Every artefact howsure writes (a collection, a detector, a converted model, a cached
baseline) is first written to a temporary sibling and then moved into place, so a crash
or an interrupt leaves either the old files or the new ones, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["cache_dir", "staged_files", "staged_folder", "write_text_atomic"]


def cache_dir(*parts: str) -> Path:
    """Folder under the howsure cache (``$HOWSURE_CACHE``, else ``$XDG_CACHE_HOME/howsure``,
    else ``~/.cache/howsure``), created if missing."""
    root = os.environ.get("HOWSURE_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "howsure")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


@contextlib.contextmanager
def staged_files(folder: str | Path) -> Iterator[Path]:
    """Write files into a temporary folder; on success each replaces its namesake in ``folder``.

    Parameters
    ----------
    folder : str or Path
        The destination (created). Files already there that are not written keep.

    Yields
    ------
    Path
        An empty temporary folder inside ``folder``: write the new files there.

    Notes
    -----
    Each file moves with :meth:`pathlib.Path.replace` (atomic on one file system), with the
    permissions the umask gives a new file (``safetensors`` writes its files 0600, which
    would hide a shared artefact's tensors from the group that can read its config). On
    an exception nothing in ``folder`` changes and the temporary folder is removed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    try:
        yield tmp
        mode = 0o666 & ~_umask()
        for path in sorted(tmp.iterdir()):
            if path.is_file():
                path.chmod(mode)
            path.replace(folder / path.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(target: str | Path) -> Iterator[Path]:
    """Build a whole folder in a temporary sibling, then rename it to ``target``.

    Yields
    ------
    Path
        An empty temporary folder beside ``target``.

    Notes
    -----
    When ``target`` appeared meanwhile (another process finished first), the new copy is
    dropped and ``target`` is left as it is. On an exception the temporary folder is
    removed and ``target`` does not appear.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        yield tmp
        if not target.exists():
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(name).replace(path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return path
