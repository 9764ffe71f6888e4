"""Disk and container formats: which names an image may declare.

The allowed lists come from imaged-api.conf ([image] disk_formats and
container_formats); a name outside them is refused with 400 and a message
that lists what is allowed, so a student who typed "qcow" sees "qcow2".
"""
from __future__ import annotations

from dataclasses import dataclass

from imaged.domain.errors import InvalidInput


@dataclass(frozen=True)
class FormatRules:
    disk_formats: tuple[str, ...]
    container_formats: tuple[str, ...]

    def check_disk_format(self, value) -> None:
        _check("disk_format", value, self.disk_formats)

    def check_container_format(self, value) -> None:
        _check("container_format", value, self.container_formats)


def _check(attribute: str, value, allowed: tuple[str, ...]) -> None:
    if value is None:
        return  # unset until the upload (Glance allows null)
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(f"Invalid {attribute} {value!r}: allowed values are "
                           f"{', '.join(allowed)}.")


def required_before_upload(disk_format: str | None, container_format: str | None) -> None:
    """Glance needs both formats before data arrives (what the data is decides
    how it is inspected and, later, how a VM opens it)."""
    missing = [name for name, value in (("disk_format", disk_format),
                                        ("container_format", container_format)) if not value]
    if missing:
        plural = "Properties" if len(missing) > 1 else "Property"
        raise InvalidInput(f"{plural} {', '.join(missing)} must be set prior to saving data.")
