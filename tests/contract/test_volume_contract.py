"""volumed against Cinder's own contract, at every microversion from 3.0 to
the maximum volumed advertises where the shape of a route it serves changes:
every route is called on a real stack at each of VERSIONS, and

- the answer's field names, recursively, are those of Cinder's API reference
  sample for that version (api-ref/source/v3/samples, from the newest v3.N
  folder at or below it), no more and no fewer, with the same JSON types
  (Cinder has no response schemas: the samples are its contract);
- the samples' request bodies are accepted, and bodies Cinder's request
  schema (cinder/api/schemas) refuses are refused with 400.

The samples show an admin's view (host, migration and provider fields), so
the answers checked are an admin's, on the admin project's resources.
Differences we keep are in KNOWN_GAPS, with why."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from tests.contract import routes, shapes
from tests.contract.conftest import UNCOVERED
from tests.contract.shapes import sample_body
from tests.support.compute import wait_for
from tests.support.volumes import VolumeApi, connector, unique
from volumed.api import microversion

# The versions where the shape of something volumed serves changes, up to
# what volumed advertises (see volumed/api/microversion.py):
#   3.0 base; 3.12 /volumes/summary; 3.13 a volume's group_id; 3.14 a
#   snapshot's group_snapshot_id; 3.21 a volume's provider_id; 3.27 the
#   attachments API; 3.36 the summary's metadata; 3.41 a snapshot's user_id;
#   3.44 attachments' os-complete.
VERSIONS = [(3, 0), (3, 12), (3, 13), (3, 14), (3, 21), (3, 27), (3, 36), (3, 41), (3, 44)]
V = "/v3/<project_id>"


@dataclass(frozen=True)
class Case:
    """One answer to check at every version from `since` on: the route (as
    volumed's blueprints spell it, plus an action's name), Cinder's sample
    (None: it answers without a body), the maps whose keys are data, and
    fields of the (newest) sample that only exist from a later version."""
    route: str
    sample: str | None
    since: tuple[int, int] = (3, 0)
    free: tuple[str, ...] = ()
    absent_before: dict[str, tuple[int, int]] = field(default_factory=dict)
    changes: tuple[tuple[int, int], ...] = ()   # versions where Cinder changes its shape
    unsampled: str = ""   # why an answer with a body has no sample to compare with

    def versions(self) -> list[tuple[int, int]]:
        """Where it is checked: from its first version, at each change, and
        at volumed's maximum (the shape between two of these is the same)."""
        wanted = {self.since, *self.changes, VERSIONS[-1]}
        return [v for v in VERSIONS if v in wanted and v >= self.since]


VOLUME_CHANGES = ((3, 13), (3, 21))      # group_id, provider_id
SNAPSHOT_CHANGES = ((3, 14), (3, 41))    # group_snapshot_id, user_id
VOL = f"{V}/volumes/<volume_id>"
SNAP = f"{V}/snapshots/<snapshot_id>"
ATT = f"{V}/attachments/<attachment_id>"
CASES = [
    Case("GET /", "versions/versions-response.json"),
    Case("GET /v3/", "versions/version-show-response.json"),
    # volumes
    Case(f"POST {V}/volumes", "volumes/volume-create-response.json", free=("volume.metadata",),
         changes=VOLUME_CHANGES),
    Case(f"GET {V}/volumes", "volumes/volumes-list-response.json"),
    Case(f"GET {V}/volumes/detail", "volumes/volumes-list-detailed-response.json",
         free=("volumes[].metadata", "volumes[].volume_image_metadata"), changes=VOLUME_CHANGES),
    Case(f"GET {VOL}", "volumes/volume-show-response.json",
         free=("volume.metadata", "volume.volume_image_metadata"), changes=VOLUME_CHANGES),
    Case(f"PUT {VOL}", "volumes/volume-update-response.json", free=("volume.metadata",),
         changes=VOLUME_CHANGES),
    Case(f"GET {V}/volumes/summary", "volumes/volumes-list-summary-response.json", since=(3, 12),
         free=("volume-summary.metadata",),
         absent_before={"volume-summary.metadata": (3, 36)}, changes=((3, 36),)),
    Case(f"DELETE {VOL}", None),
    Case(f"POST {VOL}/metadata", "volumes/volume-metadata-create-response.json",
         free=("metadata",)),
    Case(f"GET {VOL}/metadata", "volumes/volume-metadata-show-response.json",
         free=("metadata",)),
    Case(f"PUT {VOL}/metadata", "volumes/volume-metadata-update-response.json",
         free=("metadata",)),
    Case(f"GET {VOL}/metadata/<key>", "volumes/volume-metadata-show-key-response.json",
         free=("meta",)),
    Case(f"PUT {VOL}/metadata/<key>", "volumes/volume-metadata-update-key-response.json",
         free=("meta",)),
    Case(f"DELETE {VOL}/metadata/<key>", None),
    Case(f"POST {VOL}/action os-extend", None),
    Case(f"POST {VOL}/action os-set_bootable", None),
    Case(f"POST {VOL}/action os-update_readonly_flag", None),
    Case(f"POST {VOL}/action os-reserve", None),
    Case(f"POST {VOL}/action os-unreserve", None),
    Case(f"POST {VOL}/action os-reset_status", None),
    Case(f"POST {VOL}/action os-volume_upload_image",
         "volume_actions/volume-upload-to-image-response.json"),
    # snapshots
    Case(f"POST {V}/snapshots", "snapshots/snapshot-create-response.json",
         free=("snapshot.metadata",),
         changes=SNAPSHOT_CHANGES),
    Case(f"GET {V}/snapshots", "snapshots/snapshots-list-response.json",
         free=("snapshots[].metadata",)),
    Case(f"GET {V}/snapshots/detail", "snapshots/snapshots-list-detailed-response.json",
         free=("snapshots[].metadata",), changes=SNAPSHOT_CHANGES),
    Case(f"GET {SNAP}", "snapshots/snapshot-show-response.json", free=("snapshot.metadata",),
         changes=SNAPSHOT_CHANGES),
    Case(f"PUT {SNAP}", "snapshots/snapshot-update-response.json", free=("snapshot.metadata",),
         changes=SNAPSHOT_CHANGES),
    Case(f"POST {SNAP}/metadata", "snapshots/snapshot-metadata-create-response.json",
         free=("metadata",)),
    Case(f"GET {SNAP}/metadata", "snapshots/snapshot-metadata-show-response.json",
         free=("metadata",)),
    Case(f"PUT {SNAP}/metadata", "snapshots/snapshot-metadata-update-response.json",
         free=("metadata",)),
    Case(f"DELETE {SNAP}", None),
    # attachments (3.27)
    Case(f"POST {V}/attachments", "attachment-create-response.json", since=(3, 27),
         free=("attachment.connection_info",)),
    Case(f"PUT {ATT}", "attachment-update-response.json", since=(3, 27),
         free=("attachment.connection_info",)),
    Case(f"GET {V}/attachments", "attachment-list-response.json", since=(3, 27)),
    Case(f"GET {V}/attachments/detail", "attachment-list-detailed-response.json",
         since=(3, 27), free=("attachments[].connection_info",)),
    Case(f"GET {ATT}", "attachment-show-response.json", since=(3, 27),
         free=("attachment.connection_info",)),
    Case(f"POST {ATT}/action os-complete", None, since=(3, 44)),
    Case(f"DELETE {ATT}", None, since=(3, 27),
         unsampled="Cinder answers the volume's remaining attachments, with no sample"),
    # volume types
    Case(f"POST {V}/types", "volume_type/volume-type-create-response.json",
         free=("volume_type.extra_specs",)),
    Case(f"GET {V}/types", "volume_type/volume-types-list-response.json",
         free=("volume_types[].extra_specs",)),
    Case(f"GET {V}/types/<type_id>", "volume_type/volume-type-show-response.json",
         free=("volume_type.extra_specs",)),
    Case(f"PUT {V}/types/<type_id>", "volume_type/volume-type-update-response.json",
         free=("volume_type.extra_specs",)),
    Case(f"GET {V}/types/default", "volume_type/volume-type-default-response.json",
         free=("volume_type.extra_specs",)),
    Case(f"POST {V}/types/<type_id>/extra_specs",
         "volume_type/volume-type-extra-specs-create-update-response.json",
         free=("extra_specs",)),
    Case(f"GET {V}/types/<type_id>/extra_specs",
         "volume_type/volume-type-all-extra-specs-show-response.json", free=("extra_specs",)),
    Case(f"DELETE {V}/types/<type_id>", None),
    # quotas, limits, zones, extensions
    Case(f"GET {V}/os-quota-sets/<target>", "quota_sets/quotas-show-response.json"),
    Case(f"GET {V}/os-quota-sets/<target>/defaults",
         "quota_sets/quotas-show-defaults-response.json"),
    Case(f"PUT {V}/os-quota-sets/<target>", "quota_sets/quotas-update-response.json"),
    Case(f"DELETE {V}/os-quota-sets/<target>", None),
    Case(f"GET {V}/limits", "limits/limits-show-response.json"),
    Case(f"GET {V}/os-availability-zone", "availability-zone-list-response.json"),
    Case(f"GET {V}/extensions", "extensions/extensions-list-response.json"),
]

# Differences from Cinder's samples that we keep, by route (at every version
# unless the key names one: (route, version)), each with why.
PER_TYPE_QUOTAS = {
    f"missing: quota_set.{resource}___DEFAULT__":
        "volumed has no per-volume-type quotas (Cinder shows volumes_<type>, "
        "gigabytes_<type> and snapshots_<type>, -1 unless an admin sets them)"
    for resource in ("volumes", "gigabytes", "snapshots")}
KNOWN_GAPS: dict[str | tuple[str, tuple[int, int]], dict[str, str]] = {
    f"GET {V}/os-quota-sets/<target>": PER_TYPE_QUOTAS,
    f"GET {V}/os-quota-sets/<target>/defaults": PER_TYPE_QUOTAS,
    f"PUT {V}/os-quota-sets/<target>": PER_TYPE_QUOTAS,
    **{route: {"extra: volume_type.qos_specs_id":
               "Cinder's type view adds qos_specs_id for admins (these answers are an "
               "admin's); its create and update samples predate it"}
       for route in (f"POST {V}/types", f"PUT {V}/types/<type_id>")},
    f"POST {VOL}/action os-volume_upload_image": {
        "extra: os-volume_upload_image.volume_type.name":
            "Cinder puts the volume's whole type record here (the sample's volume has "
            "none: null); volumed gives the type's name",
    },
    f"GET {V}/types/default": {
        "missing: volume_type.extra_specs.*": "the default type has no extra specs, as "
                                              "Cinder's __DEFAULT__; the sample's has one",
    },
}

# Changes of the samples' request bodies before they are sent, each with why.
REQUEST_CHANGES: dict[str, dict[str, str]] = {
    f"POST {V}/volumes": {
        "OS-SCH-HNT:scheduler_hints": "its same_host names volumes that do not exist here",
        "volume.size": "1 GiB instead of 10: the test needs no more",
    },
    f"POST {V}/snapshots": {"snapshot.volume_id": "the test's volume"},
    f"POST {V}/attachments": {"attachment.volume_uuid": "the test's volume"},
    f"PUT {V}/os-quota-sets/<target>": {
        "quota_set.groups": "taken out: volumed has no groups, and refuses a quota for them "
                            "with 400 rather than keep a number nothing counts against"},
}

NOT_IN_CINDER: dict[str, str] = {
    "GET /v3": "the same document as GET /v3/ (checked), without the slash",
    f"POST {SNAP}/action": "only admins' os-reset_status, which has no sample answer",
}


class Api:
    """volumed as admin at one microversion; answers kept by (route, version)."""

    def __init__(self, client: VolumeApi, answers: dict):
        self.client = client
        self.answers = answers
        self.version = microversion.MIN_VERSION
        self.now: set[str] = set()   # the routes checked at this version

    def needs(self, *routes: str) -> bool:
        return any(route in self.now for route in routes)

    def call(self, route: str, path: str, expect: int, **kwargs) -> requests.Response:
        method = route.split()[0]
        version = f"volume {self.version[0]}.{self.version[1]}"
        if path.startswith("/v3") or path == "/":
            response = requests.request(method, self.client.stack.url("volumed") + path,
                                        headers={"OpenStack-API-Version": version},
                                        timeout=60, **kwargs)
            assert response.status_code == expect, f"{route}: {response.status_code}"
        else:
            response = self.client.call(method, path, version=version, expect=expect, **kwargs)
        if route in self.now:
            self.answers[(route, self.version)] = response
        return response


def exercise(api: Api, cinder, project_id: str) -> None:
    """Every route checked at api.version called once (and what they need),
    in an order that makes each possible; the samples' request bodies where
    Cinder has one."""
    at = api.version
    api.call("GET /", "/", 300)
    api.call("GET /v3/", "/v3/", 200)
    created = api.call(f"POST {V}/volumes", "/volumes", 202, json=sample_body(
        cinder, "volumes/volume-create-request.json",
        **{"OS-SCH-HNT:scheduler_hints": None, "volume.size": 1}))
    volume_id = created.json()["volume"]["id"]
    api.client.wait(volume_id, "available")
    vol = f"/volumes/{volume_id}"
    api.call(f"PUT {VOL}", vol, 200, json=cinder.sample("volumes/volume-update-request.json"))
    api.call(f"POST {VOL}/metadata", f"{vol}/metadata", 200,
             json=cinder.sample("volumes/volume-metadata-create-request.json"))
    api.call(f"PUT {VOL}/metadata", f"{vol}/metadata", 200,
             json=cinder.sample("volumes/volume-metadata-update-request.json"))
    key = next(iter(cinder.sample("volumes/volume-metadata-update-key-request.json")["meta"]))
    api.call(f"PUT {VOL}/metadata/<key>", f"{vol}/metadata/{key}", 200,
             json=cinder.sample("volumes/volume-metadata-update-key-request.json"))
    api.call(f"GET {VOL}/metadata/<key>", f"{vol}/metadata/{key}", 200)
    api.call(f"GET {VOL}/metadata", f"{vol}/metadata", 200)
    api.call(f"GET {VOL}", vol, 200)
    api.call(f"GET {V}/volumes", "/volumes", 200)
    api.call(f"GET {V}/volumes/detail", "/volumes/detail", 200)
    if at >= (3, 12):
        api.call(f"GET {V}/volumes/summary", "/volumes/summary", 200)
    if api.needs(f"POST {VOL}/action os-extend"):
        _actions(api, cinder, volume_id)
    if api.needs(f"POST {V}/snapshots"):
        _snapshots(api, cinder, volume_id)
    if api.needs(f"POST {V}/attachments"):
        _attachments(api, cinder, volume_id)
    api.call(f"DELETE {VOL}/metadata/<key>", f"{vol}/metadata/{key}", 200)
    api.call(f"DELETE {VOL}", vol, 202)
    api.client.wait_gone(volume_id)
    if api.needs(f"POST {V}/types"):
        _the_rest(api, cinder, project_id)


def _actions(api: Api, cinder, volume_id: str) -> None:
    vol = f"/volumes/{volume_id}"

    def act(name: str, sample: str, expect: int = 202, **changes) -> requests.Response:
        return api.call(f"POST {VOL}/action {name}", f"{vol}/action", expect,
                        json=sample_body(cinder, sample, **changes))
    act("os-extend", "volume-extend-request.json")
    api.client.wait(volume_id, "available")
    act("os-set_bootable", "volume-bootable-status-update-request.json", 200)
    act("os-update_readonly_flag", "volume-readonly-update-request.json")
    act("os-update_readonly_flag", "volume-readonly-update-request.json",
        **{"os-update_readonly_flag.readonly": False})
    act("os-reserve", "volume-reserve-request.json")
    act("os-unreserve", "volume-unreserve-request.json")
    act("os-reset_status", "volume-status-reset-request.json",
        **{"os-reset_status.attach_status": None, "os-reset_status.migration_status": None,
           "os-reset_status.status": "available"})
    uploaded = act("os-volume_upload_image", "volume_actions/volume-upload-to-image-request.json",
                   **{"os-volume_upload_image.image_name": unique("contract")})
    api.client.wait(volume_id, "available")
    image_id = uploaded.json()["os-volume_upload_image"]["image_id"]
    requests.delete(f"{api.client.stack.url('imaged')}/v2/images/{image_id}", timeout=30,
                    headers={"X-Auth-Token": api.client.token})


def _snapshots(api: Api, cinder, volume_id: str) -> None:
    snap = api.call(f"POST {V}/snapshots", "/snapshots", 202, json=sample_body(
        cinder, "snapshots/snapshot-create-request.json", **{"snapshot.volume_id": volume_id}))
    snapshot_id = snap.json()["snapshot"]["id"]
    api.client.wait_snapshot(snapshot_id, "available")
    snapshot = f"/snapshots/{snapshot_id}"
    api.call(f"PUT {SNAP}", snapshot, 200,
             json=cinder.sample("snapshots/snapshot-update-request.json"))
    api.call(f"POST {SNAP}/metadata", f"{snapshot}/metadata", 200,
             json=cinder.sample("snapshots/snapshot-metadata-create-request.json"))
    api.call(f"PUT {SNAP}/metadata", f"{snapshot}/metadata", 200,
             json=cinder.sample("snapshots/snapshot-metadata-update-request.json"))
    api.call(f"GET {SNAP}/metadata", f"{snapshot}/metadata", 200)
    api.call(f"GET {SNAP}", snapshot, 200)
    api.call(f"GET {V}/snapshots", "/snapshots", 200)
    api.call(f"GET {V}/snapshots/detail", "/snapshots/detail", 200)
    api.call(f"DELETE {SNAP}", snapshot, 202)
    api.client.wait_snapshot_gone(snapshot_id)


def _attachments(api: Api, cinder, volume_id: str) -> None:
    made = api.call(f"POST {V}/attachments", "/attachments", 200, json=sample_body(
        cinder, "attachment-create-request.json", **{
            "attachment.volume_uuid": volume_id, "attachment.connector": None}))
    attachment = f"/attachments/{made.json()['attachment']['id']}"
    update = sample_body(cinder, "attachment-update-request.json")
    update["attachment"]["connector"].update(connector())
    api.call(f"PUT {ATT}", attachment, 200, json=update)
    api.call(f"GET {V}/attachments", "/attachments", 200)
    api.call(f"GET {V}/attachments/detail", "/attachments/detail", 200)
    api.call(f"GET {ATT}", attachment, 200)
    if api.version >= (3, 44):
        api.call(f"POST {ATT}/action os-complete", f"{attachment}/action", 204,
                 json=cinder.sample("attachment-complete.json"))
    api.call(f"DELETE {ATT}", attachment, 200)
    api.client.wait(volume_id, "available")


def _the_rest(api: Api, cinder, project_id: str) -> None:
    type_made = api.call(f"POST {V}/types", "/types", 200, json=sample_body(
        cinder, "volume_type/volume-type-create-request.json",
        **{"volume_type.name": unique("contract")}))
    type_path = f"/types/{type_made.json()['volume_type']['id']}"
    api.call(f"PUT {V}/types/<type_id>", type_path, 200, json=sample_body(
        cinder, "volume_type/volume-type-update-request.json",
        **{"volume_type.name": unique("contract")}))
    api.call(f"POST {V}/types/<type_id>/extra_specs", f"{type_path}/extra_specs", 200,
             json=cinder.sample("volume_type/volume-type-extra-specs-create-update-request.json"))
    api.call(f"GET {V}/types/<type_id>/extra_specs", f"{type_path}/extra_specs", 200)
    api.call(f"GET {V}/types/<type_id>", type_path, 200)
    api.call(f"GET {V}/types", "/types", 200)
    api.call(f"GET {V}/types/default", "/types/default", 200)
    api.call(f"DELETE {V}/types/<type_id>", type_path, 202)

    quotas = f"/os-quota-sets/{project_id}"
    api.call(f"GET {V}/os-quota-sets/<target>", quotas, 200)
    api.call(f"GET {V}/os-quota-sets/<target>/defaults", f"{quotas}/defaults", 200)
    api.call(f"PUT {V}/os-quota-sets/<target>", quotas, 200, json=sample_body(
        cinder, "quota_sets/quotas-update-request.json", **{"quota_set.groups": None}))
    api.call(f"DELETE {V}/os-quota-sets/<target>", quotas, 200)
    api.call(f"GET {V}/limits", "/limits", 200)
    api.call(f"GET {V}/os-availability-zone", "/os-availability-zone", 200)
    api.call(f"GET {V}/extensions", "/extensions", 200)


@pytest.fixture(scope="module")
def answers(stack, cinder) -> Iterator[dict]:
    client = ContractVolumes(stack, "admin")
    kept: dict = {}
    api = Api(client, kept)
    for version in VERSIONS:
        api.version = version
        api.now = {case.route for case in CASES if version in case.versions()}
        exercise(api, cinder, client.project_id)
    yield kept


class ContractVolumes(VolumeApi):
    """VolumeApi with the snapshot waits the contract test needs."""

    def wait_snapshot(self, snapshot_id: str, status: str) -> None:
        wait_for(lambda: self.call("GET", f"/snapshots/{snapshot_id}", expect=200)
                 .json()["snapshot"]["status"] == status, 60, what=f"snapshot {status}")

    def wait_snapshot_gone(self, snapshot_id: str) -> None:
        wait_for(lambda: self.call("GET", f"/snapshots/{snapshot_id}").status_code == 404, 60,
                 what="snapshot gone")


def checks() -> list[tuple[Case, tuple[int, int]]]:
    return [(case, version) for case in CASES for version in case.versions()]


def expected_sample(cinder, case: Case, version: tuple[int, int]) -> dict:
    sample = copy.deepcopy(cinder.sample(case.sample, version))
    for dotted, since in case.absent_before.items():
        if version < since:
            target = sample
            *parents, last = dotted.split(".")
            for key in parents:
                target = target[key]
            target.pop(last, None)
    return sample


@pytest.mark.parametrize("case, version", checks(),
                         ids=[f"{c.route} {v[0]}.{v[1]}" for c, v in checks()])
def test_answer_has_cinders_shape(case, version, answers, cinder):
    response = answers[(case.route, version)]
    body = response.json() if response.content else None
    if case.sample:
        found = shapes.differences(body, expected_sample(cinder, case, version), case.free)
    else:
        found = [] if body is None or case.unsampled else \
            [f"body: Cinder answers without one, ours is {body!r}"]
    gaps = {**KNOWN_GAPS.get(case.route, {}), **KNOWN_GAPS.get((case.route, version), {})}
    assert sorted(found) == sorted(gaps), \
        "\n".join(found) or "a listed gap is gone: take it off KNOWN_GAPS"


# --- requests Cinder's schema refuses are refused with 400 ----------------------------
INVALID = [
    (f"POST {V}/volumes", "volumes.create", {"volume": {"size": "big"}}),
    (f"POST {V}/volumes", "volumes.create", {"volume": {"size": 1, "name": 5}}),
    (f"POST {V}/volumes", "volumes.create", {"volume": {"size": 1, "metadata": {"k": 1}}}),
    (f"POST {V}/volumes", "volumes.create", {"volume": {"size": 1, "multiattach": "maybe"}}),
    (f"POST {V}/volumes", "volumes.create", {"size": 1}),
    (f"PUT {VOL}", "volumes.update", {"volume": {"name": 5}}),
    (f"PUT {VOL}", "volumes.update", {"volume": {"metadata": "none"}}),
    (f"POST {VOL}/metadata", "volume_metadata.create", {"metadata": {"k": 1}}),
    (f"POST {VOL}/metadata", "volume_metadata.create", {"meta": {"k": "v"}}),
    (f"PUT {VOL}/metadata/<key>", "volume_metadata.update", {"meta": {"k": 1}}),
    (f"POST {VOL}/action os-extend", "volume_actions.extend", {"os-extend": {}}),
    (f"POST {VOL}/action os-extend", "volume_actions.extend", {"os-extend": {"new_size": 0}}),
    (f"POST {VOL}/action os-set_bootable", "volume_actions.set_bootable",
     {"os-set_bootable": {"bootable": "perhaps"}}),
    (f"POST {VOL}/action os-update_readonly_flag", "volume_actions.volume_readonly_update",
     {"os-update_readonly_flag": {}}),
    (f"POST {V}/snapshots", "snapshots.create", {"snapshot": {"name": "x"}}),
    (f"POST {V}/snapshots", "snapshots.create",
     {"snapshot": {"volume_id": "<volume_id>", "force": "sometimes"}}),
    (f"PUT {SNAP}", "snapshots.update", {"snapshot": {}}),
    (f"POST {V}/attachments", "attachments.create", {"attachment": {"instance_uuid": "x"}}),
    (f"POST {V}/attachments", "attachments.create",
     {"attachment": {"volume_uuid": "<volume_id>", "connector": "iqn"}}),
    (f"POST {V}/types", "volume_types.create", {"volume_type": {"name": ""}}),
    (f"POST {V}/types", "volume_types.create",
     {"volume_type": {"name": "x", "os-volume-type-access:is_public": "sure"}}),
    (f"POST {V}/types/<type_id>/extra_specs", "types_extra_specs.create",
     {"extra_specs": {"k": 1}}),
    (f"POST {V}/types/<type_id>/extra_specs", "types_extra_specs.create",
     {"extra_specs": {"k": "v"}, "more": {}}),
    (f"PUT {SNAP}", "snapshots.update", {"snapshot": {"name": 5}}),
    (f"PUT {SNAP}", "snapshots.update", {"snapshot": {"name": "x", "size": 2}}),
    (f"POST {SNAP}/metadata", "snapshot_metadata.create", {"metadata": {"k": 1}}),
    (f"PUT {SNAP}/metadata", "snapshot_metadata.update_all", {"metadata": {"k": 1}}),
    (f"PUT {V}/os-quota-sets/<target>", "quotas.update", {"quota_set": {}}),
    (f"PUT {V}/os-quota-sets/<target>", "quotas.update",
     {"quota_set": {"volumes": 10}, "more": {}}),
    (f"POST {V}/backups", "backups.create",
     {"backup": {"volume_id": "<volume_id>"}, "more": {}}),
]


@pytest.fixture(scope="module")
def target(stack) -> Iterator[dict]:
    admin = ContractVolumes(stack, "admin")
    volume = admin.create()
    snapshot = admin.snapshot(volume["id"])
    made = admin.call("POST", "/types", json={"volume_type": {"name": unique("contract-bad")}},
                      expect=200)
    type_id = made.json()["volume_type"]["id"]
    yield {"client": admin, "volume_id": volume["id"], "snapshot_id": snapshot["id"],
           "type_id": type_id, "key": "k", "target": admin.project_id}
    admin.call("DELETE", f"/snapshots/{snapshot['id']}")
    admin.wait_snapshot_gone(snapshot["id"])
    admin.delete(volume["id"])
    admin.call("DELETE", f"/types/{type_id}")


def _fill(value, names: dict):
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return names[value[1:-1]]
    return value


@pytest.mark.parametrize("route, schema, body", INVALID,
                         ids=[f"{route} {i}" for i, (route, _, _) in enumerate(INVALID)])
def test_what_cinders_schema_refuses_is_400(route, schema, body, cinder, target):
    body = _fill(body, target)
    assert list(cinder.validator(cinder.schema(schema)).iter_errors(body)), \
        f"Cinder's {schema} accepts {body}: not an invalid example"
    method, path = route.split()[:2]
    path = path.removeprefix(V)
    for name in ("volume_id", "snapshot_id", "type_id", "key", "target"):
        path = path.replace(f"<{name}>", target[name])
    response = target["client"].call(method, path, json=body)
    assert response.status_code == 400, f"{route} {body}: {response.status_code} " \
                                        f"{response.text}"
    assert "badRequest" in response.json()


def test_every_route_served_is_checked_or_listed():
    served = routes.served("volumed")
    from tests.contract import test_volume_backup_contract as backups  # it imports this one
    checked = {" ".join(case.route.split()[:2]) for case in CASES} | backups.ROUTES
    assert checked <= served, f"cases for routes not served: {sorted(checked - served)}"
    UNCOVERED["volumed"] = [f"{route}: {NOT_IN_CINDER.get(route, 'no case yet')}"
                            for route in sorted(served - checked)]


def test_the_versions_checked_reach_what_volumed_advertises():
    assert VERSIONS[-1] == microversion.MAX_VERSION


# 3.40: a volume reverted to its latest snapshot (cinder/api/v3/volumes.py
# revert, cinder/volume/api.py revert_to_snapshot). The data is checked in the
# volume's file on the file backend: what the initiator would read back.
def _volume_file(stack, volume_id: str):
    return stack.state_dir / "lib" / "volumes" / f"volume-{volume_id}"


def _write(stack, volume_id: str, offset: int, data: bytes) -> None:
    with open(_volume_file(stack, volume_id), "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def _read(stack, volume_id: str, offset: int, length: int) -> bytes:
    with open(_volume_file(stack, volume_id), "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def test_revert_puts_the_latest_snapshots_data_back(stack, target):
    client = target["client"]
    volume = client.create()
    _write(stack, volume["id"], 4096, b"before the snapshot")
    older = client.snapshot(volume["id"])
    latest = client.snapshot(volume["id"])
    try:
        _write(stack, volume["id"], 4096, b"written afterwards!")
        _write(stack, volume["id"], 1 << 20, b"more data")
        below = client.action(volume["id"], "revert", {"snapshot_id": latest["id"]},
                              version="volume 3.39")
        assert below.status_code == 404, below.text
        not_latest = client.action(volume["id"], "revert", {"snapshot_id": older["id"]},
                                   version="volume 3.40")
        assert not_latest.status_code == 400, not_latest.text
        assert f"Specified snapshot {older['id']} is None or not the latest one of volume " \
               f"{volume['id']}." in not_latest.text
        no_id = client.action(volume["id"], "revert", {}, version="volume 3.40")
        assert no_id.status_code == 400 and "is None or not the latest" in no_id.text
        bad_type = client.action(volume["id"], "revert", {"snapshot_id": 5},
                                 version="volume 3.40")
        assert bad_type.status_code == 400, bad_type.text

        reverted = client.action(volume["id"], "revert", {"snapshot_id": latest["id"]},
                                 version="volume 3.40")
        assert reverted.status_code == 202 and not reverted.content, reverted.text
        client.wait(volume["id"], "available")
        client.wait_snapshot(latest["id"], "available")
        assert _read(stack, volume["id"], 4096, 19) == b"before the snapshot"
        assert _read(stack, volume["id"], 1 << 20, 9) == b"\0" * 9
        assert client.show(volume["id"])["size"] == 1
        # The statuses it passed through, as its events recorded them.
        seen = {(e["event_type"], e["payload"].get("status"))
                for e in client.events(resource_id=volume["id"], type="volume.revert.*")}
        assert seen == {("volume.revert.start", "reverting"),
                        ("volume.revert.end", "available")}, seen
        seen = {(e["event_type"], e["payload"].get("status"))
                for e in client.events(resource_id=latest["id"], type="snapshot.revert.*")}
        assert seen == {("snapshot.revert.start", "restoring"),
                        ("snapshot.revert.end", "available")}, seen

        # Not while attached (409, InvalidVolume), nor once the volume has grown.
        attachment = client.attach(volume["id"], connector())
        client.complete(attachment["id"])
        client.wait(volume["id"], "in-use")
        in_use = client.action(volume["id"], "revert", {"snapshot_id": latest["id"]},
                               version="volume 3.40")
        assert in_use.status_code == 409, in_use.text
        assert "Volume's status must be 'available'" in in_use.text
        client.detach(attachment["id"])
        client.wait(volume["id"], "available")
        client.action(volume["id"], "os-extend", {"new_size": 2}, expect=202)
        client.wait(volume["id"], "available")
        grown = client.action(volume["id"], "revert", {"snapshot_id": latest["id"]},
                              version="volume 3.40")
        assert grown.status_code == 400, grown.text
        assert "The volume size must be equal to the snapshot size." in grown.text
    finally:
        for snapshot in (latest, older):
            client.call("DELETE", f"/snapshots/{snapshot['id']}")
            client.wait_snapshot_gone(snapshot["id"])
        client.delete(volume["id"])


def test_revert_without_snapshots_is_400(target):
    client = target["client"]
    volume = client.create()
    try:
        response = client.action(volume["id"], "revert", {"snapshot_id": None},
                                 version="volume 3.40")
        assert response.status_code == 400, response.text
        assert f"Volume {volume['id']} doesn't have any snapshots." in response.text
    finally:
        client.delete(volume["id"])


# 3.42: os-extend of an in-use volume (cinder/volume/api.py
# extend_attached_volume); below it, only an available volume (400). The
# guest's side of it is tests/e2e/test_volume_extend_guest.py.
def test_an_in_use_volume_extends_from_3_42(stack, target):
    client = target["client"]
    volume = client.create()
    try:
        attachment = client.attach(volume["id"], connector())
        client.complete(attachment["id"])
        client.wait(volume["id"], "in-use")
        below = client.action(volume["id"], "os-extend", {"new_size": 2},
                              version="volume 3.41")
        assert below.status_code == 400 and "in-use" in below.text, below.text
        extend = client.action(volume["id"], "os-extend", {"new_size": 2},
                               version="volume 3.42")
        assert extend.status_code == 202 and not extend.content, extend.text
        shown = client.wait(volume["id"], "in-use")
        assert shown["size"] == 2
        assert _volume_file(stack, volume["id"]).stat().st_size == 2 * 1024 ** 3
        assert [a["attachment_id"] for a in shown["attachments"]] == [attachment["id"]]
        client.detach(attachment["id"])
        client.wait(volume["id"], "available")
    finally:
        client.delete(volume["id"])
