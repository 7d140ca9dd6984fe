"""Attachment files on disk: type detected from the content, size limited, named by SHA-256.

Files live under ATTACHMENTS_DIR/<tenant id>/<aa>/<sha256>; the same content sent twice is stored
once. The database row keeps the original name, the detected type, the size and the checksum.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype
from flask import current_app
from flask_babel import gettext as _

CHUNK = 64 * 1024


class AttachmentRejected(ValueError):
    """The file is too large or of a type not accepted; the message is safe to show."""

    def __init__(self, message: str, code: int = 415):
        super().__init__(message)
        self.code = code


@dataclass
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_path: str


def attachments_dir() -> Path:
    configured = current_app.config.get("ATTACHMENTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def detect_type(head: bytes) -> str | None:
    """The MIME type told by the first bytes; plain UTF-8 text without control bytes is text/plain."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if not head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The read may have cut a multi-byte character at the end.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return None
    return "text/plain"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def safe_filename(name: str) -> str:
    """The file's own name, without a folder, control characters (a line break in a mailed file's
    name would break the download's headers) or more than 200 characters."""
    name = os.path.basename(_CONTROL.sub(" ", name or "").replace("\\", "/")).strip()
    return " ".join(name.split())[:200] or "attachment"


def _check_type(filename: str, head: bytes) -> str:
    content_type = detect_type(head)
    if content_type is None or content_type not in current_app.config["ATTACHMENT_TYPES"]:
        raise AttachmentRejected(_("“%(name)s” is not a file type we accept (pictures, PDF, videos, voice messages and plain text are).", name=safe_filename(filename)))
    return content_type


def _too_large(filename: str, limit: int) -> AttachmentRejected:
    return AttachmentRejected(_("“%(name)s” is larger than %(mb)s MB.", name=safe_filename(filename), mb=round(limit / 1024 / 1024, 1)), code=413)


def refusal(filename: str, data: bytes) -> AttachmentRejected | None:
    """Why `store_file` would refuse this file (its type or size), or None if it would keep it."""
    limit = int(current_app.config["ATTACHMENT_MAX_BYTES"])
    if len(data) > limit:
        return _too_large(filename, limit)
    try:
        _check_type(filename, data[:8192])
    except AttachmentRejected as exc:
        return exc
    return None


def store_file(tenant_id: int, filename: str, stream: BinaryIO) -> StoredFile:
    """Check and store one upload; raise AttachmentRejected when it breaks a limit."""
    limit = int(current_app.config["ATTACHMENT_MAX_BYTES"])
    head = stream.read(8192)
    content_type = _check_type(filename, head)
    digest = hashlib.sha256()
    root = attachments_dir() / str(tenant_id)
    root.mkdir(parents=True, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(dir=root, delete=False) as out:
        try:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise _too_large(filename, limit)
                digest.update(chunk)
                out.write(chunk)
                chunk = stream.read(CHUNK)
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise
    sha = digest.hexdigest()
    relative = Path(str(tenant_id)) / sha[:2] / sha
    target = attachments_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(out.name, target)
    return StoredFile(safe_filename(filename), content_type, size, sha, str(relative))


def open_stored(storage_path: str) -> Path:
    return attachments_dir() / storage_path
