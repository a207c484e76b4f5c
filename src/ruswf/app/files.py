"""Files that hold the store or copies of it (the database, backups, exports): they hold
the people registry and the whole history, so only their owner may read them (0600 files,
0700 directories), and writing one never follows a symbolic link planted where it goes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


class UnsafePathError(ValueError):
    """A path ruswf is to write is a symbolic link."""


def refuse_link(path: Path) -> None:
    """Raise `UnsafePathError` if `path` is a symbolic link (whatever it points at)."""
    if path.is_symlink():
        msg = f"{path} is a symbolic link; refusing to write through it (remove it first)"
        raise UnsafePathError(msg)


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) readable by its owner only; an existing
    directory (or the link to one that the operator named) is left as it is."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)


def create_private(path: Path) -> None:
    """Create `path` as a new, empty 0600 file (never through a link, never an existing
    file), for a writer that opens it by name afterwards (SQLite, pg_dump)."""
    refuse_link(path)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
    os.close(descriptor)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically as a 0600 file: a new file in the same directory,
    then renamed over `path`. A link at `path` is refused, not followed."""
    refuse_link(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
