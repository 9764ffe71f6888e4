"""computed's microversions (2.1 to MAX): the version headers, the 406 and
400 Nova gives, and for each version the exact fields of what we serve
(no more, no fewer) and the requests its schema accepts.

One real server is built here (TCG); the tests share it."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID

from tests.support.compute import project_id_of, unique

MAX = "2.38"
ALL_VERSIONS = [f"2.{minor}" for minor in range(1, 39)]


def v(version: str) -> dict:
    return {"OpenStack-API-Version": f"compute {version}"}


def minor(version: str) -> int:
    return int(version.split(".")[1])


@pytest.fixture(scope="module")
def server(demo) -> dict:
    made = demo.create(name=unique("mv"), metadata={"role": "lab"})
    return demo.wait_status(made["id"], "ACTIVE")


# --- the version headers ------------------------------------------------------------------
def test_the_versions_document_names_the_highest_version(stack, demo):
    root = demo.call("GET", "/").json()  # demo.url ends in /v2.1
    assert root["version"]["version"] == MAX and root["version"]["min_version"] == "2.1"


@pytest.mark.parametrize("headers, answered", [
    ({}, "2.1"),
    (v("latest"), MAX),
    (v("2.26"), "2.26"),
    ({"X-OpenStack-Nova-API-Version": "2.9"}, "2.9"),
    ({"X-OpenStack-Nova-API-Version": "latest"}, MAX),
    ({**v("2.19"), "X-OpenStack-Nova-API-Version": "2.9"}, "2.19"),  # the new header wins
    ({"OpenStack-API-Version": "volume 3.40, compute 2.33"}, "2.33"),
    ({"OpenStack-API-Version": "volume 3.40"}, "2.1"),               # not ours: the default
])
def test_the_version_asked_for_is_the_version_answered(demo, headers, answered):
    response = demo.call("GET", "/flavors", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["OpenStack-API-Version"] == f"compute {answered}"
    assert response.headers["X-OpenStack-Nova-API-Version"] == answered
    vary = {part.strip() for part in response.headers["Vary"].split(",")}
    assert {"OpenStack-API-Version", "X-OpenStack-Nova-API-Version"} <= vary


@pytest.mark.parametrize("asked", ["2.39", "2.0", "3.0", "2.100"])
def test_a_version_outside_the_range_is_406(demo, asked):
    response = demo.call("GET", "/flavors", headers=v(asked))
    assert response.status_code == 406
    assert response.json()["computeFault"]["message"] == (
        f"Version {asked} is not supported by the API. Minimum is 2.1 and maximum is {MAX}.")
    legacy = demo.call("GET", "/flavors", headers={"X-OpenStack-Nova-API-Version": asked})
    assert legacy.status_code == 406


@pytest.mark.parametrize("asked", ["2.x", "2", "2.01", "two"])
def test_a_malformed_version_is_400(demo, asked):
    response = demo.call("GET", "/flavors", headers=v(asked))
    assert response.status_code == 400
    assert response.json()["badRequest"]["message"] == (
        f"API Version String {asked} is of invalid format. Must be of format "
        f"MajorNum.MinorNum.")


# --- key pairs: 2.2 type, 2.10 user_id, 2.35 paging ---------------------------------------
def ssh_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode()


def certificate() -> tuple[str, str]:
    """(PEM, its SHA-1 fingerprint as Nova prints it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    raw = cert.fingerprint(hashes.SHA1()).hex()
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            ":".join(raw[i:i + 2] for i in range(0, len(raw), 2)))


@pytest.mark.parametrize("version", ["2.1", "2.2", "2.9", "2.10", "2.35", MAX])
def test_keypair_fields_and_codes_per_version(demo, version):
    name = unique("kpv")
    typed = {"type"} if minor(version) >= 2 else set()
    created = demo.call("POST", "/os-keypairs", headers=v(version),
                        json={"keypair": {"name": name, "public_key": ssh_key()}})
    assert created.status_code == (201 if typed else 200), created.text
    assert set(created.json()["keypair"]) == {"name", "public_key", "fingerprint",
                                              "user_id"} | typed
    listed = demo.call("GET", "/os-keypairs", headers=v(version)).json()
    assert set(listed) == {"keypairs"}
    mine = [k["keypair"] for k in listed["keypairs"] if k["keypair"]["name"] == name]
    assert len(mine) == 1 and set(mine[0]) == {"name", "public_key", "fingerprint"} | typed
    shown = demo.call("GET", f"/os-keypairs/{name}", headers=v(version)).json()["keypair"]
    assert set(shown) == {"name", "public_key", "fingerprint", "user_id", "id", "created_at",
                          "deleted", "deleted_at", "updated_at"} | typed
    if typed:
        assert shown["type"] == "ssh"
    deleted = demo.call("DELETE", f"/os-keypairs/{name}", headers=v(version))
    assert deleted.status_code == (204 if typed else 202)


def test_type_is_refused_before_2_2_and_x509_is_a_type_from_it(demo):
    pem, print_ = certificate()
    name = unique("x509")
    body = {"keypair": {"name": name, "public_key": pem, "type": "x509"}}
    refused = demo.call("POST", "/os-keypairs", headers=v("2.1"), json=body)
    assert refused.status_code == 400 and "'type' was unexpected" in refused.text
    created = demo.call("POST", "/os-keypairs", headers=v("2.2"), json=body)
    assert created.status_code == 201, created.text
    assert created.json()["keypair"]["type"] == "x509"
    assert created.json()["keypair"]["fingerprint"] == print_
    demo.call("DELETE", f"/os-keypairs/{name}", headers=v("2.2"))
    bad = demo.call("POST", "/os-keypairs", headers=v("2.2"), json={"keypair": {
        "name": name, "type": "pgp"}})
    assert bad.status_code == 400 and "'pgp' is not one of ['ssh', 'x509']" in bad.text
    generated = demo.call("POST", "/os-keypairs", headers=v("2.2"), json={"keypair": {
        "name": name, "type": "x509"}}).json()["keypair"]
    try:
        cert = x509.load_pem_x509_certificate(generated["public_key"].encode())
        assert generated["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert cert.fingerprint(hashes.SHA1()).hex() == generated["fingerprint"].replace(":", "")
    finally:
        demo.call("DELETE", f"/os-keypairs/{name}", headers=v("2.2"))


def test_an_admin_manages_another_users_keypairs_from_2_10(demo, admin):
    demo_user = demo.call("GET", "/os-keypairs/none").json()["itemNotFound"]["message"] \
        .rsplit(" ", 1)[-1]
    name = unique("foruser")
    body = {"keypair": {"name": name, "public_key": ssh_key(), "user_id": demo_user}}
    assert admin.call("POST", "/os-keypairs", headers=v("2.9"), json=body).status_code == 400
    made = admin.call("POST", "/os-keypairs", headers=v("2.10"), json=body)
    assert made.status_code == 201, made.text
    assert made.json()["keypair"]["user_id"] == demo_user
    assert demo.call("GET", f"/os-keypairs/{name}").status_code == 200   # demo's own
    assert admin.call("GET", f"/os-keypairs/{name}?user_id={demo_user}",
                      headers=v("2.9")).status_code == 404            # ignored before 2.10
    assert admin.call("GET", f"/os-keypairs/{name}?user_id={demo_user}",
                      headers=v("2.10")).status_code == 200
    listed = admin.call("GET", f"/os-keypairs?user_id={demo_user}", headers=v("2.10")).json()
    assert name in {k["keypair"]["name"] for k in listed["keypairs"]}
    assert demo.call("GET", "/os-keypairs?user_id=someone-else",
                     headers=v("2.10")).status_code == 403
    assert admin.call("DELETE", f"/os-keypairs/{name}?user_id={demo_user}",
                      headers=v("2.10")).status_code == 204
    assert demo.call("GET", f"/os-keypairs/{name}").status_code == 404


def test_keypairs_are_paged_from_2_35(demo):
    names = sorted(unique(f"page{i}") for i in range(3))
    for name in names:
        demo.call("POST", "/os-keypairs", json={"keypair": {"name": name,
                                                            "public_key": ssh_key()}})
    try:
        everything = demo.call("GET", "/os-keypairs?limit=1", headers=v("2.34")).json()
        assert len(everything["keypairs"]) >= 3 and "keypairs_links" not in everything
        first = demo.call("GET", "/os-keypairs?limit=1", headers=v("2.35")).json()
        assert len(first["keypairs"]) == 1
        assert first["keypairs_links"][0]["rel"] == "next"
        after = demo.call("GET", f"/os-keypairs?marker={names[0]}",
                          headers=v("2.35")).json()["keypairs"]
        assert names[0] not in {k["keypair"]["name"] for k in after}
        assert {names[1], names[2]} <= {k["keypair"]["name"] for k in after}
        unknown = demo.call("GET", "/os-keypairs?marker=no-such-pair", headers=v("2.35"))
        assert unknown.status_code == 400
    finally:
        for name in names:
            demo.call("DELETE", f"/os-keypairs/{name}")


# --- a server's fields ----------------------------------------------------------------------
BASE = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image",
        "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links",
        "OS-DCF:diskConfig", "OS-EXT-AZ:availability_zone", "config_drive", "key_name",
        "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "OS-EXT-STS:task_state",
        "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state",
        "os-extended-volumes:volumes_attached", "progress"}
ADMIN_21 = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname",
            "OS-EXT-SRV-ATTR:instance_name"}
ADMIN_23 = {"OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:kernel_id",
            "OS-EXT-SRV-ATTR:launch_index", "OS-EXT-SRV-ATTR:ramdisk_id",
            "OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:root_device_name",
            "OS-EXT-SRV-ATTR:user_data"}
UPDATE_BASE = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image",
               "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6",
               "links", "OS-DCF:diskConfig", "progress"}


def added_in(version: str) -> set[str]:
    """The fields versions 2.9 to 2.26 add for everyone."""
    n = minor(version)
    return ({"locked"} if n >= 9 else set()) | ({"description"} if n >= 19 else set()) | \
        ({"tags"} if n >= 26 else set())


def expected_detail(version: str, is_admin: bool, with_groups: bool) -> set[str]:
    keys = BASE | added_in(version) | ({"security_groups"} if with_groups else set())
    if is_admin:
        keys |= ADMIN_21 | (ADMIN_23 if minor(version) >= 3 else set()) | \
            ({"host_status"} if minor(version) >= 16 else set())
    return keys


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_a_servers_fields_are_its_versions(demo, admin, server, version):
    with_groups = "security_groups" in server
    for client, is_admin in ((demo, False), (admin, True)):
        shown = client.call("GET", f"/servers/{server['id']}", headers=v(version))
        assert shown.status_code == 200, shown.text
        body = shown.json()["server"]
        assert set(body) == expected_detail(version, is_admin, with_groups), version
        listed = client.call("GET", f"/servers/detail?name={server['name']}&all_tenants=1"
                             if is_admin else f"/servers/detail?name={server['name']}",
                             headers=v(version)).json()["servers"]
        assert [set(s) for s in listed] == [set(body)]
        attached = body["os-extended-volumes:volumes_attached"]
        assert attached == []
    shown = admin.call("GET", f"/servers/{server['id']}", headers=v(version)).json()["server"]
    if minor(version) >= 3:
        assert shown["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
        assert shown["OS-EXT-SRV-ATTR:kernel_id"] == "" and \
            shown["OS-EXT-SRV-ATTR:launch_index"] == 0
        assert shown["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
    if minor(version) >= 16:
        assert shown["host_status"] == "UP"
    if minor(version) >= 9:
        assert shown["locked"] is False
    updated = demo.call("PUT", f"/servers/{server['id']}", headers=v(version),
                        json={"server": {"name": server["name"]}})
    assert updated.status_code == 200, updated.text
    assert set(updated.json()["server"]) == UPDATE_BASE | added_in(version)


def test_locked_shows_from_2_9(demo, server):
    assert demo.action(server["id"], "lock").status_code == 202
    try:
        shown = demo.call("GET", f"/servers/{server['id']}", headers=v("2.9")).json()
        assert shown["server"]["locked"] is True
        assert "locked" not in demo.show(server["id"])
    finally:
        demo.action(server["id"], "unlock")


# --- 2.19 description ------------------------------------------------------------------------
def test_description_from_2_19(demo, server):
    before = demo.call("GET", f"/servers/{server['id']}", headers=v("2.19")).json()
    assert before["server"]["description"] == server["name"]  # made at 2.1: the name
    refused = demo.call("PUT", f"/servers/{server['id']}", headers=v("2.18"),
                        json={"server": {"description": "lab box"}})
    assert refused.status_code == 400
    updated = demo.call("PUT", f"/servers/{server['id']}", headers=v("2.19"),
                        json={"server": {"description": "lab box"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["server"]["description"] == "lab box"
    assert demo.call("GET", f"/servers/{server['id']}",
                     headers=v(MAX)).json()["server"]["description"] == "lab box"
    too_long = demo.call("PUT", f"/servers/{server['id']}", headers=v("2.19"),
                         json={"server": {"description": "x" * 256}})
    assert too_long.status_code == 400
    cleared = demo.call("PUT", f"/servers/{server['id']}", headers=v("2.19"),
                        json={"server": {"description": None}})
    assert cleared.json()["server"]["description"] is None


def test_create_takes_a_description_from_2_19_only(demo):
    body = {"server": {"name": unique("desc"), "imageRef": demo.image_id(), "flavorRef": "1",
                       "description": "made at 2.18"}}
    refused = demo.call("POST", "/servers", headers=v("2.18"), json=body)
    assert refused.status_code == 400
    assert "'description' was unexpected" in refused.text
    made = demo.call("POST", "/servers", headers=v("2.19"), json=body)
    assert made.status_code == 202, made.text
    server_id = made.json()["server"]["id"]
    demo.made.append(server_id)
    shown = demo.call("GET", f"/servers/{server_id}", headers=v("2.19")).json()["server"]
    assert shown["description"] == "made at 2.18"


# --- 2.26 tags ---------------------------------------------------------------------------------
def test_tags_from_2_26(demo, server):
    sid = server["id"]
    assert demo.call("GET", f"/servers/{sid}/tags", headers=v("2.25")).status_code == 404
    replaced = demo.call("PUT", f"/servers/{sid}/tags", headers=v("2.26"),
                         json={"tags": ["red", "blue", "red"]})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"tags": ["blue", "red"]}
    added = demo.call("PUT", f"/servers/{sid}/tags/green", headers=v("2.26"))
    assert added.status_code == 201 and added.headers["Location"].endswith(
        f"/v2.1/servers/{sid}/tags/green")
    assert demo.call("PUT", f"/servers/{sid}/tags/green", headers=v("2.26")).status_code == 204
    assert demo.call("GET", f"/servers/{sid}/tags/green", headers=v("2.26")).status_code == 204
    missing = demo.call("GET", f"/servers/{sid}/tags/pink", headers=v("2.26"))
    assert missing.status_code == 404 and f"Server {sid} has no tag 'pink'" in missing.text
    assert demo.call("GET", f"/servers/{sid}", headers=v("2.26")).json()["server"]["tags"] == \
        ["blue", "green", "red"]
    bad = demo.call("PUT", f"/servers/{sid}/tags/a,b", headers=v("2.26"))
    assert bad.status_code == 400 and "Tag 'a,b' is invalid" in bad.text
    too_many = demo.call("PUT", f"/servers/{sid}/tags", headers=v("2.26"),
                         json={"tags": [f"t{i}" for i in range(51)]})
    assert too_many.status_code == 400
    assert demo.call("PUT", f"/servers/{sid}/tags", headers=v("2.26"),
                     json={"tags": ["x" * 61]}).status_code == 400
    assert demo.call("DELETE", f"/servers/{sid}/tags/green", headers=v("2.26")).status_code == 204
    assert demo.call("DELETE", f"/servers/{sid}/tags/green", headers=v("2.26")).status_code == 404
    assert demo.call("GET", f"/servers/{sid}/tags",
                     headers=v("2.26")).json() == {"tags": ["blue", "red"]}


@pytest.mark.parametrize("query, found", [
    ("tags=blue", True), ("tags=blue,red", True), ("tags=blue,pink", False),
    ("tags-any=pink,red", True), ("tags-any=pink", False),
    ("not-tags=blue,red", False), ("not-tags=blue,pink", True),
    ("not-tags-any=pink,blue", False), ("not-tags-any=pink", True),
    ("tags=blue&not-tags-any=pink", True),
])
def test_tag_filters_from_2_26(demo, server, query, found):
    sid = server["id"]
    demo.call("PUT", f"/servers/{sid}/tags", headers=v("2.26"), json={"tags": ["blue", "red"]})
    ids = {s["id"] for s in demo.call("GET", f"/servers?{query}",
                                      headers=v("2.26")).json()["servers"]}
    assert (sid in ids) is found
    before = {s["id"] for s in demo.call("GET", f"/servers?{query}",
                                         headers=v("2.25")).json()["servers"]}
    assert sid in before  # the filters mean nothing before 2.26


# --- the rest of what we serve ---------------------------------------------------------------
def test_hypervisor_cpu_info_is_an_object_from_2_28(admin):
    before = admin.call("GET", "/os-hypervisors/detail", headers=v("2.27")).json()
    assert isinstance(before["hypervisors"][0]["cpu_info"], str)
    after = admin.call("GET", "/os-hypervisors/detail", headers=v("2.28")).json()
    assert isinstance(after["hypervisors"][0]["cpu_info"], dict)
    hypervisor_id = after["hypervisors"][0]["id"]
    shown = admin.call("GET", f"/os-hypervisors/{hypervisor_id}", headers=v("2.28")).json()
    assert isinstance(shown["hypervisor"]["cpu_info"], dict)


def test_hypervisors_are_paged_from_2_33(admin):
    for path in ("/os-hypervisors", "/os-hypervisors/detail"):
        assert len(admin.call("GET", f"{path}?limit=0",
                              headers=v("2.32")).json()["hypervisors"]) == 1
        paged = admin.call("GET", f"{path}?limit=0", headers=v("2.33")).json()
        assert paged["hypervisors"] == []
        first = admin.call("GET", path, headers=v("2.33")).json()["hypervisors"][0]
        assert admin.call("GET", f"{path}?marker={first['id']}",
                          headers=v("2.33")).json() == {"hypervisors": []}
        assert admin.call("GET", f"{path}?marker=999999",
                          headers=v("2.33")).status_code == 400


NETWORK_LIMITS = {"maxSecurityGroups", "maxSecurityGroupRules", "maxTotalFloatingIps",
                  "totalSecurityGroupsUsed", "totalFloatingIpsUsed"}
LIMITS_236 = {"maxTotalCores", "maxTotalInstances", "maxTotalRAMSize", "maxServerMeta",
              "maxImageMeta", "maxPersonality", "maxPersonalitySize", "maxTotalKeypairs",
              "maxServerGroups", "maxServerGroupMembers", "totalCoresUsed",
              "totalInstancesUsed", "totalRAMUsed", "totalServerGroupsUsed"}
QUOTAS_236 = {"id", "instances", "cores", "ram", "key_pairs", "metadata_items",
              "injected_files", "injected_file_content_bytes", "injected_file_path_bytes",
              "server_groups", "server_group_members"}
NETWORK_QUOTAS = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}


def test_network_limits_and_quotas_go_at_2_36(stack, demo):
    project_id = project_id_of(stack)
    for version, extra_limits, extra_quotas in (("2.35", NETWORK_LIMITS, NETWORK_QUOTAS),
                                                ("2.36", set(), set())):
        limits = demo.call("GET", "/limits", headers=v(version)).json()["limits"]
        assert set(limits["absolute"]) == LIMITS_236 | extra_limits
        for suffix in ("", "/defaults", "/detail"):
            quotas = demo.call("GET", f"/os-quota-sets/{project_id}{suffix}",
                               headers=v(version)).json()["quota_set"]
            assert set(quotas) == QUOTAS_236 | extra_quotas, suffix


def test_the_image_proxy_is_gone_at_2_36(demo):
    assert demo.call("GET", "/images", headers=v("2.35")).status_code == 200
    gone = demo.call("GET", "/images", headers=v("2.36"))
    assert gone.status_code == 404
    assert demo.call("GET", f"/images/{demo.image_id()}", headers=v("2.36")).status_code == 404


def test_an_unknown_status_filter_is_400_from_2_38(demo):
    assert demo.call("GET", "/servers?status=BOGUS", headers=v("2.37")).json() == \
        {"servers": []}
    refused = demo.call("GET", "/servers?status=BOGUS", headers=v("2.38"))
    assert refused.status_code == 400 and "Invalid status value" in refused.text
    assert demo.call("GET", "/servers?status=active", headers=v("2.38")).status_code == 200


def test_networks_are_required_from_2_37(demo):
    body = {"server": {"name": unique("gmn"), "imageRef": demo.image_id(), "flavorRef": "1"}}
    refused = demo.call("POST", "/servers", headers=v("2.37"), json=body)
    assert refused.status_code == 400 and "networks" in refused.text
    body["server"]["networks"] = "none"
    assert demo.call("POST", "/servers", headers=v("2.36"), json=body).status_code == 400
    made = demo.call("POST", "/servers", headers=v("2.37"), json=body)
    assert made.status_code == 202, made.text
    server_id = made.json()["server"]["id"]
    demo.made.append(server_id)
    shown = demo.wait_status(server_id, "ACTIVE")
    assert shown["addresses"] == {}


def test_a_block_device_tag_only_at_2_32(demo):
    """Nova's bug, kept: the tag of block_device_mapping_v2 is in 2.32's schema
    only (until 2.42). A missing flavor then shows the schema let it through."""
    body = {"server": {"name": unique("bdmtag"), "imageRef": demo.image_id(),
                       "flavorRef": "no-such-flavor",
                       "block_device_mapping_v2": [{
                           "boot_index": 0, "uuid": demo.image_id(), "source_type": "image",
                           "destination_type": "local", "tag": "root"}]}}
    for version, words in (("2.31", "'tag' was unexpected"),
                           ("2.32", "Flavor no-such-flavor could not be found"),
                           ("2.33", "'tag' was unexpected")):
        response = demo.call("POST", "/servers", headers=v(version), json=body)
        assert response.status_code == 400 and words in response.text, (version,
                                                                         response.text)


def test_remote_consoles_replace_the_console_actions_at_2_6(demo, server):
    sid = server["id"]
    assert demo.call("POST", f"/servers/{sid}/remote-consoles", headers=v("2.5"), json={
        "remote_console": {"protocol": "serial", "type": "serial"}}).status_code == 404
    gone = demo.call("POST", f"/servers/{sid}/action", headers=v("2.6"),
                     json={"os-getSerialConsole": {"type": "serial"}})
    assert gone.status_code == 404
    opened = demo.call("POST", f"/servers/{sid}/remote-consoles", headers=v("2.6"), json={
        "remote_console": {"protocol": "serial", "type": "serial"}})
    assert opened.status_code == 200, opened.text
    console = opened.json()["remote_console"]
    assert set(console) == {"protocol", "type", "url"}
    assert console["url"].startswith("ws://") and "token=" in console["url"]
    vnc = demo.call("POST", f"/servers/{sid}/remote-consoles", headers=v("2.6"), json={
        "remote_console": {"protocol": "vnc", "type": "novnc"}})
    assert vnc.status_code == 400 and "Unavailable console type novnc." in vnc.text
    mks = demo.call("POST", f"/servers/{sid}/remote-consoles", headers=v("2.6"), json={
        "remote_console": {"protocol": "mks", "type": "webmks"}})
    assert mks.status_code == 400


def test_a_deleted_servers_actions_from_2_21(demo):
    made = demo.create(name=unique("gone"))
    demo.wait_status(made["id"], "ACTIVE")
    demo.delete(made["id"])
    path = f"/servers/{made['id']}/os-instance-actions"
    assert demo.call("GET", path, headers=v("2.20")).status_code == 404
    listed = demo.call("GET", path, headers=v("2.21"))
    assert listed.status_code == 200, listed.text
    assert {"create", "delete"} <= {a["action"] for a in listed.json()["instanceActions"]}


def test_user_data_is_shown_to_admins_from_2_3(demo, admin):
    data = base64.b64encode(b"#!/bin/sh\necho lab\n").decode()
    made = demo.create(name=unique("ud"), user_data=data)
    shown = admin.call("GET", f"/servers/{made['id']}", headers=v("2.3")).json()["server"]
    assert shown["OS-EXT-SRV-ATTR:user_data"] == data
    assert "OS-EXT-SRV-ATTR:user_data" not in admin.call(
        "GET", f"/servers/{made['id']}", headers=v("2.2")).json()["server"]



def test_access_to_a_public_flavor_is_409_from_2_7(stack, admin):
    flavor_id = unique("public")
    made = admin.call("POST", "/flavors", json={"flavor": {
        "name": flavor_id, "id": flavor_id, "ram": 64, "vcpus": 1, "disk": 1}})
    assert made.status_code == 200, made.text
    try:
        body = {"addTenantAccess": {"tenant": project_id_of(stack)}}
        refused = admin.call("POST", f"/flavors/{flavor_id}/action", headers=v("2.7"),
                             json=body)
        assert refused.status_code == 409
        assert "Can not add access to a public flavor." in refused.text
        recorded = admin.call("POST", f"/flavors/{flavor_id}/action", headers=v("2.6"),
                              json=body)
        assert recorded.status_code == 200, recorded.text
    finally:
        admin.call("DELETE", f"/flavors/{flavor_id}")
