"""Files that appear whole or not at all: written beside the target, then renamed over it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import EaselError


class FileNotWritten(EaselError):
    """The file could not be written (disk full, no permission); the target is as it was."""


@contextmanager
def replaced_on_success(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`; it replaces `path` only when the block succeeds.

    A full disk or any other error halfway leaves no half file behind, and an earlier file
    of that name untouched.
    """
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(
            dir=target.parent if str(target.parent) else ".",
            prefix=f".{target.name}.",
            suffix=".part",
        )
        os.close(handle)
    except OSError as error:
        raise FileNotWritten(f"Could not write {target}: {error.strerror or error}.") from None
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise FileNotWritten(
            f"Could not write {target}: {error.strerror or error}; nothing was written."
        ) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
