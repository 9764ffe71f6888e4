"""Secrets are generated on this machine and written readable by root only.

Nothing here logs a secret: callers get the value back and must not log it."""
from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


def generate_password(length: int = 24) -> str:
    """A random password made of URL-safe characters (no quoting needed in
    INI or YAML files)."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def write_private_file(path: Path, content: str | bytes) -> None:
    """Write a file atomically with mode 0600 from the first byte on (never a
    moment where another user could read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def shared_secret(path: Path) -> str:
    """The secret two services share (such as the metadata proxy's), read
    from `path`, or made there now if nobody made it yet.

    Whoever comes first writes it; a second process racing to create it
    finds the first one's file and uses that: the file is linked into place
    only if the name is free (os.link never replaces), so both always end
    with the same value."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_password(40) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path.read_text().strip()
