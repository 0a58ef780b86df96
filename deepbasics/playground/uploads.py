"""The files a session uploads: kept in the session's own temporary folder, found by name and fingerprint.

    uploads = Uploads(folder)                   # nothing is created until a file arrives
    entry = read_upload(folder, name, data)     # writes and describes it (off the event loop);
                                                # UploadError(status, one line) when refused
    uploads.keep(entry)                         # the session may now train on it
    uploads.folder("iris.csv", "3f2a...")       # the folder holding that file, or None
    uploads.close()                             # the folder and every file in it removed

A file is a CSV (.csv) or Parquet (.parquet, .pq) table of at most MAX_BYTES and LIMITS
["max_rows"] rows. It lies at ``folder/<fingerprint>/<name>``: its configuration names it by its
bare name and its fingerprint (the start of its SHA-256, ``datasets.file_fingerprint``), and the
validator reads it from that folder (``config.from_dict``'s base_dir), so no path the page
sends ever reaches the disk. A session keeps its MAX_FILES newest files.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from ..data import datasets
from ..errors import DeepBasicsError
from ..fileio import atomic_write_bytes
from .protocol import LIMITS

MAX_BYTES = LIMITS["max_upload_mb"] * 1024 * 1024
MAX_FILES = 3
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
NAME = re.compile(r"\w[\w ._()+-]{0,119}")


class UploadError(DeepBasicsError):
    """An upload the server refuses: ``status`` (HTTP) and the line the page shows."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def file_format(name) -> str:
    """"csv" or "parquet" for an acceptable file name (a plain name, no folder), else UploadError."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or ".." in name:
        raise UploadError(400, f"the file name {str(name)[:80]!r} is not one the playground keeps: a name of letters, "
                               f"digits, spaces and . _ ( ) + - (at most 120 characters), no folder")
    kind = FORMATS.get(Path(name).suffix.lower())
    if kind is None:
        raise UploadError(415, f"{name} is not a CSV (.csv) or Parquet (.parquet) file; the playground reads those two")
    return kind


def read_upload(root: Path, name: str, data: bytes) -> dict:
    """Write ``data`` as ``root/<fingerprint>/<name>`` and read its columns with the library's
    reader: {name, fingerprint, format, bytes, rows, columns: [{name, kind}], path}. A file the
    reader refuses, or too long, is removed again and raised as UploadError."""
    kind = file_format(name)
    if len(data) > MAX_BYTES:
        raise UploadError(413, too_large(name))
    fingerprint = hashlib.sha256(data).hexdigest()[:datasets.FINGERPRINT_DIGITS]
    folder = Path(root) / fingerprint
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    atomic_write_bytes(path, data)
    try:
        table = datasets.describe_table(path, kind)
        if table.rows == 0:
            raise DeepBasicsError(f"{path} has columns but no data rows")
        if table.rows > LIMITS["max_rows"]:
            raise UploadError(413, f"{name} has {table.rows:,} rows; the playground takes at most "
                                   f"{LIMITS['max_rows']:,} (train on it with deepbasics train)")
    except DeepBasicsError as err:
        _remove(path)
        status = getattr(err, "status", 400)
        raise UploadError(status, str(err).replace(str(path), name)) from None
    return {"name": name, "fingerprint": fingerprint, "format": kind, "bytes": len(data), "rows": table.rows,
            "columns": [{"name": c, "kind": k} for c, k in zip(table.names, table.kinds)], "path": str(path)}


def too_large(name: str) -> str:
    return (f"{name} is larger than {LIMITS['max_upload_mb']} MB, the playground's limit; "
            f"train on it with deepbasics train")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()                 # the fingerprint's folder, when nothing else is in it
    except OSError:
        pass


class Uploads:
    """A session's files: {(name, fingerprint): path}, newest last, at most MAX_FILES."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.files: dict[tuple[str, str], Path] = {}

    def keep(self, entry: dict) -> None:
        key = (entry["name"], entry["fingerprint"])
        self.files.pop(key, None)
        self.files[key] = Path(entry["path"])
        while len(self.files) > MAX_FILES:
            oldest = next(iter(self.files))
            _remove(self.files.pop(oldest))

    def folder(self, name: str, fingerprint: str) -> str | None:
        """The folder of the file the session uploaded as ``name`` with that fingerprint, or None."""
        path = self.files.get((name, fingerprint))
        return str(path.parent) if path is not None and path.is_file() else None

    def close(self) -> None:
        self.files.clear()
        shutil.rmtree(self.root, ignore_errors=True)
