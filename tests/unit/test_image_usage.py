"""The numbers behind GET /v2/info/usage: the repository's ids_in_status
(on SQLite and PostgreSQL) and the report in Glance's units."""
from __future__ import annotations

from imaged.domain.image import utcnow
from imaged.domain.quotas import ProjectUsage, Quotas, usage_report
from shared.units import MiB

# The real databases of the repository tests (fixtures engine, repo, postgres_url).
from tests.unit.test_image_repository import engine, image, postgres_url, repo  # noqa: F401


def test_ids_in_status_names_the_projects_images_in_those_statuses(repo):  # noqa: F811
    saving = repo.create(image(owner="busy"))
    repo.set_status(saving.id, ["queued"], "saving")
    staged = repo.create(image(owner="busy"))
    repo.set_status(staged.id, ["queued"], "uploading")
    repo.create(image(owner="busy"))                                  # queued
    gone = repo.create(image(owner="busy"))
    repo.set_status(gone.id, ["queued"], "deleted", {"deleted_at": utcnow()})
    elsewhere = repo.create(image(owner="other"))
    repo.set_status(elsewhere.id, ["queued"], "saving")
    assert sorted(repo.ids_in_status("busy", ["saving", "uploading", "importing"])) == \
        sorted([saving.id, staged.id])
    assert repo.ids_in_status("busy", ["importing"]) == []


def test_the_report_counts_mib_and_shows_no_limit_as_minus_one():
    usage = ProjectUsage(images=3, stored_bytes=5 * MiB + 7, staged_bytes=MiB - 1,
                         uploading=2)
    assert usage_report(Quotas(image_count_total=0, image_size_total=0), usage) == {
        "image_size_total": {"limit": -1, "usage": 5},
        "image_count_total": {"limit": -1, "usage": 3},
        "image_stage_total": {"limit": -1, "usage": 0},
        "image_count_uploading": {"limit": -1, "usage": 2}}
    limited = usage_report(Quotas(image_count_total=10, image_size_total=8 * MiB), usage)
    assert limited["image_size_total"] == {"limit": 8, "usage": 5}
    assert limited["image_count_total"] == {"limit": 10, "usage": 3}
