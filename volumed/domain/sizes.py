"""Sizes: volumes are counted in GiB, files in bytes."""
from __future__ import annotations

from shared.errors import BadRequest
from shared.units import GiB


def to_bytes(gib: int) -> int:
    return gib * GiB


def gib_ceil(size_bytes: int) -> int:
    """The smallest whole number of GiB that holds size_bytes."""
    return max(1, -(-size_bytes // GiB))


def parse_size(value, *, field: str = "size", allow_none: bool = False) -> int | None:
    """A volume size from a request: a positive whole number of GiB."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise BadRequest(f"Invalid input received: {field} must be an integer (GiB).")
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input received: {field} must be an integer (GiB), "
                         f"not {value!r}.") from None
    if isinstance(value, float) and value != size:
        raise BadRequest(f"Invalid input received: {field} must be a whole number of GiB.")
    if size <= 0:
        raise BadRequest(f"Invalid input received: {field} must be greater than 0.")
    return size
