"""Sizes in bytes, named once (as oslo_utils.units does for OpenStack)."""
from __future__ import annotations

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40
