"""Small file helpers: private creation and directory fsync."""

from __future__ import annotations

import os
from pathlib import Path

from securemeter.errors import StorageError

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700


def fsync_directory(directory: Path) -> None:
    """Make the creation (or renaming) of entries in ``directory`` survive a power cut."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def create_private_file(path: Path, content: bytes) -> bool:
    """Create ``path`` with mode 0600 holding ``content``, fsynced; False if it existed."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.write(descriptor, content)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    fsync_directory(path.parent)
    return True


def prepare_private_directory(directory: Path) -> None:
    """Create ``directory`` with mode 0700, or refuse an existing one others can access."""
    try:
        directory.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
        status = directory.stat()
    except OSError as error:
        raise StorageError(f"cannot create state directory {directory}: {error}") from error
    if not directory.is_dir():
        raise StorageError(f"state path {directory} is not a directory")
    if status.st_mode & 0o077:
        raise StorageError(
            f"state directory {directory} is accessible by other users "
            f"(mode {status.st_mode & 0o777:04o}); run `chmod 700 {directory}` first"
        )
