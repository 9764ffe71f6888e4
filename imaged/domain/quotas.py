"""Project quotas and the size cap: how many images, how many bytes.

Like Glance's unified limits these are soft limits checked when an operation
starts (and, for uploads, again as the bytes arrive): two uploads racing
can together pass the limit by at most their own sizes. Over a limit is 413.
"""
from __future__ import annotations

from dataclasses import dataclass

from imaged.domain.errors import QuotaExceeded
from shared.units import MiB


@dataclass(frozen=True)
class Quotas:
    image_count_total: int = 0      # 0: no limit
    image_size_total: int = 0       # bytes, 0: no limit
    image_size_cap: int = 1 << 40   # bytes per image


def check_image_count(quotas: Quotas, project_id: str, images_now: int) -> None:
    limit = quotas.image_count_total
    if limit and images_now + 1 > limit:
        raise QuotaExceeded(f"Project {project_id} already has {images_now} images: the "
                            f"quota (image_count_total) is {limit}.")


def upload_allowance(quotas: Quotas, project_id: str, stored_now: int) -> int:
    """Bytes one more upload of this project may bring, given what it stores."""
    allowance = quotas.image_size_cap
    if quotas.image_size_total:
        left = quotas.image_size_total - stored_now
        if left <= 0:
            raise QuotaExceeded(f"Project {project_id} stores {stored_now} bytes: the quota "
                                f"(image_size_total) of {quotas.image_size_total} bytes is "
                                f"used up.")
        allowance = min(allowance, left)
    return allowance


def over_allowance_message(quotas: Quotas, allowance: int, size: int) -> str:
    if allowance >= quotas.image_size_cap:
        return (f"The image data is {size} bytes or more: bigger than the size cap "
                f"(image_size_cap) of {quotas.image_size_cap} bytes.")
    return (f"The image data is {size} bytes or more: over the {allowance} bytes left in "
            f"the project's quota (image_size_total).")


# -- GET /v2/info/usage ------------------------------------------------------

UNLIMITED = -1   # how Glance (Keystone's unified limits) shows "no limit"


@dataclass(frozen=True)
class ProjectUsage:
    """What a project uses now."""
    images: int
    stored_bytes: int
    staged_bytes: int
    uploading: int


def usage_report(quotas: Quotas, usage: ProjectUsage) -> dict:
    """Glance's usage document: sizes in MiB (rounded down), as Glance's
    unified limits count them; a limit of 0 in imaged-api.conf (no limit) is
    shown as -1. imaged sets no limit on staging or on uploads at once."""
    def limit(value: int, unit: int = 1) -> int:
        return value // unit if value else UNLIMITED
    return {
        "image_size_total": {"limit": limit(quotas.image_size_total, MiB),
                             "usage": usage.stored_bytes // MiB},
        "image_count_total": {"limit": limit(quotas.image_count_total),
                              "usage": usage.images},
        "image_stage_total": {"limit": UNLIMITED, "usage": usage.staged_bytes // MiB},
        "image_count_uploading": {"limit": UNLIMITED, "usage": usage.uploading},
    }
