"""Charts, exports and data files on disk: private to the bot's user, and short-lived.

They hold team results or, for ``/quickscan mijn-gegevens``, one member's own
data. On a shared server other accounts must not read them (folders 0700,
files 0600), and they are only needed until the adapter has sent them, so the
retention job deletes any older than a day.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timedelta
from pathlib import Path

from storage.db import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, private_dir

BOT_FILE_SUFFIXES = frozenset({".png", ".xlsx", ".json", ".partial"})
"""What the bot writes there (charts, exports, members' data, and an export's temporary
``.partial`` a crash left). Only these are tightened and swept, so an output folder an
operator shares with other files loses nothing else."""


def prepare_output_dir(path: Path) -> Path:
    """Create the output folder 0700 at start, and tighten what is already in it.

    Writers (chart, export) create their files inside; the folder's mode keeps
    other accounts out even before the sweep tightens each file to 0600.
    """
    private_dir(path)
    for folder, _dirs, files in os.walk(path):
        Path(folder).chmod(PRIVATE_DIR_MODE)
        for name in files:
            if Path(name).suffix.lower() in BOT_FILE_SUFFIXES:
                _tighten(Path(folder) / name)
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new file created 0600 in a 0700 folder.

    ``os.open`` with the mode, so the file is never readable by others, not even
    between creating and a later chmod.
    """
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(PRIVATE_FILE_MODE)  # an existing file keeps its old mode under O_CREAT
    return path


def sweep(path: Path, *, now: datetime, max_age: timedelta) -> int:
    """Delete the bot's files under ``path`` written before ``now - max_age``; tighten the rest.

    Folders stay (a writer may be about to use one). Files that vanish meanwhile
    (another process's sweep) are skipped; files of other kinds are left alone.

    Returns:
        How many files were deleted.
    """
    if not path.is_dir():
        return 0
    cutoff = (now - max_age).timestamp()
    deleted = 0
    for folder, _dirs, files in os.walk(path):
        with contextlib.suppress(FileNotFoundError):
            Path(folder).chmod(PRIVATE_DIR_MODE)
        for name in files:
            file = Path(folder) / name
            if file.suffix.lower() not in BOT_FILE_SUFFIXES:
                continue
            try:
                if file.is_symlink() or file.stat().st_mtime >= cutoff:
                    _tighten(file)
                    continue
                file.unlink()
            except FileNotFoundError:
                continue
            deleted += 1
    return deleted


def _tighten(file: Path) -> None:
    """0600 for a regular file; a symlink is left alone (chmod would follow it)."""
    with contextlib.suppress(FileNotFoundError):
        if not file.is_symlink():
            file.chmod(PRIVATE_FILE_MODE)
