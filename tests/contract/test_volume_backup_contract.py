"""volumed's backup routes against Cinder's API reference samples
(api-ref/source/v3/samples/backups and backup-*.json), in the style of
test_volume_contract.py: each route called on a real stack at every
version where Cinder's backup view changes (3.9 update, 3.18 the
project attribute, 3.43 metadata) and at volumed's maximum, the answer's
field names and JSON types those of the sample for that version."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract import shapes
from tests.contract.shapes import sample_body
from tests.contract.test_volume_contract import Api, Case, ContractVolumes, V
from tests.support.compute import wait_for
from volumed.api import microversion

BAK = f"{V}/backups/<backup_id>"
VERSIONS = [(3, 0), (3, 9), (3, 18), (3, 43), microversion.MAX_VERSION]
CHANGES = ((3, 18), (3, 43))
CASES = [
    Case(f"POST {V}/backups", "backups/backup-create-response.json"),
    Case(f"GET {V}/backups", "backups/backups-list-response.json"),
    Case(f"GET {V}/backups/detail", "backups/backups-list-detailed-response.json",
         free=("backups[].metadata",), changes=CHANGES),
    Case(f"GET {BAK}", "backups/backup-show-response.json", free=("backup.metadata",),
         changes=CHANGES),
    Case(f"PUT {BAK}", "backups/backup-update-response.json", since=(3, 9)),
    Case(f"POST {BAK}/restore", "backup-restore-response.json"),
    Case(f"POST {BAK}/action os-reset_status", None),
    Case(f"POST {BAK}/action os-force_delete", None),
    Case(f"DELETE {BAK}", None),
]
ROUTES = {" ".join(case.route.split()[:2]) for case in CASES}

# Differences from Cinder's samples that we keep, by route, each with why.
KNOWN_GAPS: dict[str | tuple[str, tuple[int, int]], dict[str, str]] = {}


def _versions(case: Case) -> list[tuple[int, int]]:
    wanted = {case.since, *case.changes, VERSIONS[-1]}
    return [v for v in VERSIONS if v in wanted and v >= case.since]


class Backups(ContractVolumes):
    def wait_backup(self, backup_id: str, status: str) -> None:
        wait_for(lambda: self.call("GET", f"/backups/{backup_id}", expect=200)
                 .json()["backup"]["status"] == status, 180, what=f"backup {status}")

    def wait_backup_gone(self, backup_id: str) -> None:
        wait_for(lambda: self.call("GET", f"/backups/{backup_id}").status_code == 404, 180,
                 what="backup gone")


def exercise(api: Api, client: Backups, cinder, volume_id: str) -> None:
    """Each backup route once at api.version, with Cinder's sample bodies."""
    made = api.call(f"POST {V}/backups", "/backups", 202, json=sample_body(
        cinder, "backups/backup-create-request.json", **{"backup.volume_id": volume_id}))
    backup_id = made.json()["backup"]["id"]
    client.wait_backup(backup_id, "available")
    bak = f"/backups/{backup_id}"
    api.call(f"GET {BAK}", bak, 200)
    api.call(f"GET {V}/backups", "/backups", 200)
    api.call(f"GET {V}/backups/detail", "/backups/detail", 200)
    if api.version >= (3, 9):
        api.call(f"PUT {BAK}", bak, 200,
                 json=cinder.sample("backups/backup-update-request.json", (3, 9)))
    restored = api.call(f"POST {BAK}/restore", f"{bak}/restore", 202,
                        json=sample_body(cinder, "backup-restore-request.json",
                                         **{"restore.volume_id": volume_id}))
    assert restored.json()["restore"]["volume_id"] == volume_id
    client.wait(volume_id, "available")
    client.wait_backup(backup_id, "available")
    api.call(f"POST {BAK}/action os-reset_status", f"{bak}/action", 202,
             json=cinder.sample("backup-reset-status-request.json"))
    api.call(f"DELETE {BAK}", bak, 202)
    client.wait_backup_gone(backup_id)
    made = api.call(f"POST {V}/backups", "/backups", 202,
                    json={"backup": {"volume_id": volume_id}})
    second = made.json()["backup"]["id"]
    client.wait_backup(second, "available")
    api.call(f"POST {BAK}/action os-force_delete", f"/backups/{second}/action", 202,
             json=cinder.sample("backup-force-delete-request.json"))
    client.wait_backup_gone(second)


@pytest.fixture(scope="module")
def answers(stack, cinder) -> Iterator[dict]:
    client = Backups(stack, "admin")
    volume = client.create()
    kept: dict = {}
    api = Api(client, kept)
    try:
        for version in VERSIONS:
            api.version = version
            api.now = {case.route for case in CASES if version in _versions(case)}
            exercise(api, client, cinder, volume["id"])
        yield kept
    finally:
        client.delete(volume["id"])


def checks() -> list[tuple[Case, tuple[int, int]]]:
    return [(case, version) for case in CASES for version in _versions(case)]


@pytest.mark.parametrize("case, version", checks(),
                         ids=[f"{c.route} {v[0]}.{v[1]}" for c, v in checks()])
def test_backup_answer_has_cinders_shape(case, version, answers, cinder):
    response = answers[(case.route, version)]
    body = response.json() if response.content else None
    if case.sample:
        found = shapes.differences(body, cinder.sample(case.sample, version), case.free)
    else:
        found = [] if body is None else [f"body: Cinder answers without one, ours is {body!r}"]
    gaps = {**KNOWN_GAPS.get(case.route, {}), **KNOWN_GAPS.get((case.route, version), {})}
    assert sorted(found) == sorted(gaps), \
        "\n".join(found) or "a listed gap is gone: take it off KNOWN_GAPS"
