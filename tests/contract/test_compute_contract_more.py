"""computed's server tags (2.26), remote consoles (2.6) and os-migrations
against Nova's response schemas and API samples, at the versions where
their shape starts or changes and at computed's maximum: one server is
booted, tagged, given a serial console and cold-migrated (then confirmed),
and every answer must validate against the schema Nova's controller names
for that version and carry the sample's fields, no more and no fewer. The
differences kept are in GAPS with why."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.contract import shapes
from tests.contract.shapes import sample_body
from tests.contract.test_compute_contract_versions import MAX
from tests.support.compute import Compute, unique

Version = tuple[int, int]
P = "/v2.1"
S = f"{P}/servers/<server_id>"


@dataclass(frozen=True)
class Case:
    """One answer at one version: Nova's sample (None: no body) and schema."""
    route: str
    version: Version
    sample: str | None
    schema: str


TAGS = "os-server-tags/v2.26"
CASES = [
    *(case for version in ((2, 26), MAX) for case in (
        Case(f"PUT {S}/tags", version, f"{TAGS}/server-tags-put-all-resp.json",
             "server_tags.update_all_response"),
        Case(f"GET {S}/tags", version, f"{TAGS}/server-tags-index-resp.json",
             "server_tags.index_response"),
        Case(f"PUT {S}/tags/<tag>", version, None, "server_tags.update_response"),
        Case(f"GET {S}/tags/<tag>", version, None, "server_tags.show_response"),
        Case(f"DELETE {S}/tags/<tag>", version, None, "server_tags.delete_response"),
        Case(f"DELETE {S}/tags", version, None, "server_tags.delete_all_response"))),
    Case(f"POST {S}/remote-consoles", (2, 6),
         "os-remote-consoles/v2.6/create-vnc-console-resp.json",
         "remote_consoles.create_response"),
    Case(f"POST {S}/remote-consoles", MAX,
         "os-remote-consoles/v2.6/create-vnc-console-resp.json",
         "remote_consoles.create_response_v28"),
    Case(f"GET {P}/os-migrations", (2, 1), "os-migrations/migrations-get.json",
         "migrations.index_response_v20"),
    Case(f"GET {P}/os-migrations", (2, 23), "os-migrations/v2.23/migrations-get.json",
         "migrations.index_response_v223"),
    Case(f"GET {P}/os-migrations", MAX, "os-migrations/v2.23/migrations-get.json",
         "migrations.index_response_v223"),
    *(Case(f"POST {P}/os-server-external-events", version,
           "os-server-external-events/event-create-resp.json",
           "server_external_events.create_response") for version in ((2, 1), MAX)),
]
ROUTES = {" ".join(case.route.split()[:2]) for case in CASES}

# Differences from Nova's samples we keep, by (route, version), with why.
GAPS: dict[tuple[str, Version], set[str]] = {
    # Nova links a migration only while a live migration is in progress (its
    # sample's first entry); computed makes no live migrations.
    **{(f"GET {P}/os-migrations", v): {"missing: migrations[].links"} for v in ((2, 23), MAX)},
}

# Changes of the samples' request bodies, with why.
REQUEST_CHANGES = {
    f"POST {S}/remote-consoles": "protocol and type serial: the sample's vnc is not "
                                 "served (computed's guests have a serial console only)",
    f"POST {P}/os-server-external-events": "the event named network-changed for the "
                                           "module's server: the sample's test-event and "
                                           "server are placeholders Nova's schema refuses",
}


def _call(client: Compute, method: str, path: str, version: Version, expect: int,
          json=None) -> requests.Response:
    response = requests.request(method, f"{client.url}{path}", json=json, timeout=60,
                                headers={"X-Auth-Token": client.token,
                                         "OpenStack-API-Version":
                                             f"compute {version[0]}.{version[1]}"})
    assert response.status_code == expect, f"{method} {path}: {response.text}"
    return response


@pytest.fixture(scope="module")
def answers(stack, nova) -> Iterator[dict[tuple[str, Version], requests.Response]]:
    admin, demo = Compute(stack, "admin"), Compute(stack, "demo")
    server_id = demo.wait_status(demo.create(name=unique("contract-more"))["id"],
                                 "ACTIVE")["id"]
    sid = f"/servers/{server_id}"
    got: dict[tuple[str, Version], requests.Response] = {}
    try:
        for version in ((2, 26), MAX):
            def keep(route, method, path, expect, json=None, v=version):
                got[(route, v)] = _call(demo, method, path, v, expect, json)
            keep(f"PUT {S}/tags", "PUT", f"{sid}/tags", 200,
                 json=nova.sample(f"{TAGS}/server-tags-put-all-req.json"))
            keep(f"PUT {S}/tags/<tag>", "PUT", f"{sid}/tags/lab", 201)
            keep(f"GET {S}/tags/<tag>", "GET", f"{sid}/tags/lab", 204)
            keep(f"GET {S}/tags", "GET", f"{sid}/tags", 200)
            keep(f"DELETE {S}/tags/<tag>", "DELETE", f"{sid}/tags/lab", 204)
            keep(f"DELETE {S}/tags", "DELETE", f"{sid}/tags", 204)
            assert _call(demo, "GET", f"{sid}/tags", version, 200).json() == {"tags": []}
        for version in ((2, 6), MAX):
            body = sample_body(nova, "os-remote-consoles/v2.6/create-vnc-console-req.json",
                               **{"remote_console.protocol": "serial",
                                  "remote_console.type": "serial"})
            got[(f"POST {S}/remote-consoles", version)] = _call(
                demo, "POST", f"{sid}/remote-consoles", version, 200, body)
        assert admin.action(server_id, "migrate").status_code == 202
        admin.wait_status(server_id, "VERIFY_RESIZE")
        assert admin.action(server_id, "confirmResize").status_code == 204
        admin.wait_status(server_id, "ACTIVE")
        for version in ((2, 1), (2, 23), MAX):
            got[(f"GET {P}/os-migrations", version)] = _call(
                admin, "GET", f"/os-migrations?instance_uuid={server_id}", version, 200)
        for version in ((2, 1), MAX):
            event = nova.sample("os-server-external-events/event-create-req.json")
            event["events"][0].update(name="network-changed", server_uuid=server_id)
            got[(f"POST {P}/os-server-external-events", version)] = _call(
                admin, "POST", "/os-server-external-events", version, 200, event)
        yield got
    finally:
        demo.cleanup()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.route} 2.{c.version[1]}" for c in CASES])
def test_answer_has_novas_shape(case, answers, nova):
    response = answers[(case.route, case.version)]
    body = response.json() if response.content else None
    validator = nova.validator(nova.schema(case.schema))
    found = {f"schema: {'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
             for error in validator.iter_errors(body)}
    if case.sample:
        found |= set(shapes.differences(body, nova.sample(case.sample)))
    assert found == GAPS.get((case.route, case.version), set()), \
        "\n".join(sorted(found)) or "a listed gap is gone: take it off GAPS"
