"""What the matrix calls with and aims at, made on a live stack through the
public APIs.

Callers: the stack's admin; in a project of their own ("alpha") a member
and a reader; a member of a second project ("beta"); no token; an expired
token and a revoked one (both the alpha member's, so that only the token's
state can refuse them).

Resources: one of each kind, owned by alpha (made by its member), which
every case aims at, so that what another project may not even see (404) is
told apart from what it sees but may not do (403). A call that consumes its
resource (a delete, a detach) gets a fresh one from a maker of `makers`
whenever the previous call was allowed. One server is booted and reused;
the servers that cases delete, lock or act on are made on a flavor no host
can hold (they go to ERROR at once, without a guest). Volumes for the
older attach actions are made in the state each action needs (reserved,
connected, attached, detaching).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

from shared.paths import StateLayout
from shared.tokens import KeyRepository, TokenCodec, TokenData
from tests.support.compute import BOOT_TIMEOUT, TINY_IMAGE, wait_for
from tests.support.revocation import wait_out_revocation_cache
from tests.support.rolematrix.model import Caller

DATA = b"pocketstack-role-matrix" * 64
OCTETS = {"Content-Type": "application/octet-stream"}
VOLUME_VERSION = {"OpenStack-API-Version": "volume 3.44"}
SUBNET_OCTET = 221                # 10.221.x.0/24: no other test module uses it
# The host a volume is connected to (os-initialize_connection, attachments)
CONNECTOR = {"initiator": "iqn.2004-10.org.pocketstack:role-matrix", "ip": "127.0.0.1",
             "host": "rolematrix", "platform": "x86_64", "os_type": "linux",
             "multipath": False}


class SetupError(AssertionError):
    pass


class _Values(dict):
    """A template's values: the world's ids, and those it makes only when a
    template first names them (World.lazy)."""

    def __init__(self, world: World, values: dict):
        super().__init__(values)
        self.world = world

    def __missing__(self, key: str) -> str:
        make = self.world.lazy.get(key)
        if make is None:
            raise KeyError(key)
        self[key] = self.world.ids[key] = make()
        return self[key]


class World:
    def __init__(self, stack, suffix: str | None = None):
        self.stack = stack
        self.suffix = suffix or uuid.uuid4().hex[:6]
        self.ids: dict[str, str] = {}
        self.passwords: dict[str, str] = {}
        self.callers: list[Caller] = []
        # ids of alpha's resources that the beta member may not see
        self.private: set[str] = set()
        self.makers: dict[str, Callable[[], str]] = {}
        # ids made when a case first needs them (a backup takes tens of seconds)
        self.lazy: dict[str, Callable[[], str]] = {}
        self._counter = 0
        self._subnets = 0
        self._backup_pool: list[str] = []
        # volumes the older attach actions reserved, connected or attached
        self._legacy_volumes: list[str] = []
        self._taken_cidrs: set[str] | None = None
        self.admin_token = stack.token("admin")
        self.policies = None   # the Policies the expected answers come from
        self._uniques: dict[str, Callable[[], str]] = {
            "unique": lambda: self.unique("new"),
            "unique_name": lambda: self.unique("new").replace("-", "_"),
            "unique_cidr": self.unique_cidr,
            "unique_port": lambda: str(self.unique_port()),
            "unique_subnet": lambda: self.new_subnet(),
        }

    # --- calls --------------------------------------------------------------------------
    def request(self, service: str, method: str, path: str, token: str | None,
                **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["X-Auth-Token"] = token
        if service == "volumed":
            headers = {**VOLUME_VERSION, **headers}
        return requests.request(method, self.stack.url(service) + path, headers=headers,
                                timeout=120, **kwargs)

    def api(self, service: str, method: str, path: str, as_: str = "member",
            expect: tuple[int, ...] = (200, 201, 202, 204), **kwargs) -> requests.Response:
        token = self.admin_token if as_ == "admin" else self.token(as_)
        response = self.request(service, method, path, token, **kwargs)
        if response.status_code not in expect:
            raise SetupError(f"setup: {method} {path} as {as_}: {response.status_code} "
                             f"{response.text[:400]}")
        return response

    def token(self, caller: str) -> str:
        found = [c.token for c in self.callers if c.name == caller]
        assert found and found[0], caller
        return found[0]

    def fill(self, template, caller: Caller, fresh: str | None = None):
        """A template (str, or dict/list of them) with the world's ids, the
        caller's own project and user, and the fresh resource filled in."""
        if isinstance(template, str):
            if "{" not in template:
                return template
            values = {**self.ids, "own_project": caller.project_id, "own_user": caller.user_id,
                      "fresh": fresh or "{fresh}", "member_password": self.passwords["member"]}
            for name, make in self._uniques.items():
                if "{" + name + "}" in template:
                    values[name] = make()
            return template.format_map(_Values(self, values))
        if isinstance(template, dict):
            return {self.fill(k, caller, fresh): self.fill(v, caller, fresh)
                    for k, v in template.items()}
        if isinstance(template, list):
            return [self.fill(item, caller, fresh) for item in template]
        return template

    def unique(self, prefix: str) -> str:
        self._counter += 1
        return f"rm-{prefix}-{self.suffix}-{self._counter}"

    def unique_cidr(self) -> str:
        """A /24 no subnet of the stack has (subnets may not overlap)."""
        if self._taken_cidrs is None:
            self._taken_cidrs = {subnet["cidr"] for subnet in self.api(
                "networkd", "GET", "/v2.0/subnets", "admin").json()["subnets"]}
        while True:
            self._subnets += 1
            assert self._subnets < 256, "out of subnets"
            cidr = f"10.{SUBNET_OCTET}.{self._subnets}.0/24"
            if cidr not in self._taken_cidrs:
                return cidr

    def unique_port(self) -> int:
        self._counter += 1
        return 1000 + self._counter

    def caller(self, name: str) -> Caller:
        return next(c for c in self.callers if c.name == name)

    # --- identity -----------------------------------------------------------------------
    def build_callers(self) -> None:
        ids = self.ids
        ids["admin_project"] = self._token_project("admin")
        ids["alpha"] = self._project(f"rm-alpha-{self.suffix}")
        ids["beta"] = self._project(f"rm-beta-{self.suffix}")
        roles = {r["name"]: r["id"] for r in self.api(
            "identity", "GET", "/v3/roles", "admin").json()["roles"]}
        ids["role_member"], ids["role_reader"] = roles["member"], roles["reader"]
        ids["member_user"] = self._user("member", ids["alpha"], "member")
        ids["reader_user"] = self._user("reader", ids["alpha"], "reader")
        ids["other_user"] = self._user("other", ids["beta"], "member")
        admin = self.stack.login("admin").json()["token"]
        ids["admin_user"] = admin["user"]["id"]
        self.callers = [
            Caller("admin", self.admin_token, ids["admin_user"], ids["admin_project"],
                   tuple(r["name"] for r in admin["roles"])),
            self._login("member", "alpha"),
            self._login("reader", "alpha"),
            self._login("other", "beta"),
        ]
        member = self.caller("member")
        self.callers += [
            Caller("anonymous", None, member.user_id, member.project_id, member.roles,
                   valid=False),
            Caller("expired", self._expired_token(member), member.user_id,
                   member.project_id, member.roles, valid=False),
            Caller("revoked", self._revoked_token(), member.user_id, member.project_id,
                   member.roles, valid=False),
        ]

    def _token_project(self, user: str) -> str:
        return self.stack.login(user).json()["token"]["project"]["id"]

    def _project(self, name: str) -> str:
        return self.api("identity", "POST", "/v3/projects", "admin", json={"project": {
            "name": name, "domain_id": "default"}}).json()["project"]["id"]

    def _user(self, kind: str, project_id: str, role: str) -> str:
        name, password = f"rm-{kind}-{self.suffix}", uuid.uuid4().hex
        self.passwords[kind] = password
        user_id = self.api("identity", "POST", "/v3/users", "admin", json={"user": {
            "name": name, "password": password, "domain_id": "default",
            "default_project_id": project_id}}).json()["user"]["id"]
        self.api("identity", "PUT", f"/v3/projects/{project_id}/users/{user_id}/roles/"
                 f"{self.ids['role_' + role]}", "admin")
        return user_id

    def _login(self, kind: str, project: str) -> Caller:
        response = self.stack.login(f"rm-{kind}-{self.suffix}", f"rm-{project}-{self.suffix}",
                                    self.passwords[kind])
        assert response.status_code == 201, response.text
        token = response.json()["token"]
        return Caller(kind, response.headers["X-Subject-Token"], token["user"]["id"],
                      token["project"]["id"], tuple(r["name"] for r in token["roles"]))

    def member_token(self) -> str:
        """A new token of the alpha member (for the token routes)."""
        return self._login("member", "alpha").token or ""

    def _expired_token(self, member: Caller) -> str:
        codec = TokenCodec(KeyRepository(StateLayout(Path(self.stack.state_dir)).fernet_keys))
        now = time.time()
        return codec.encode(TokenData(
            user_id=member.user_id, user_name=f"rm-member-{self.suffix}",
            project_id=member.project_id, project_name=f"rm-alpha-{self.suffix}",
            roles=list(member.roles), expires_at=now - 5, issued_at=now - 3600))

    def _revoked_token(self) -> str:
        token = self.member_token()
        for service in ("identity", "imaged", "volumed", "computed", "networkd"):
            # each service has seen the token valid once
            self.request(service, "GET", "/pocketstack/v1/events", token)
        self.api("identity", "DELETE", "/v3/auth/tokens", "admin",
                 headers={"X-Subject-Token": token})
        wait_out_revocation_cache()
        return token

    def raise_quotas(self) -> None:
        """Room in alpha for what the cases make (the volume and network
        quota cases reset them at the end of their service's cases)."""
        alpha = self.ids["alpha"]
        self.api("volumed", "PUT", self.vpath(f"/os-quota-sets/{alpha}", "admin"), "admin",
                 json={"quota_set": {"volumes": 100, "gigabytes": 1000, "snapshots": 100,
                                     "backups": 100, "backup_gigabytes": 1000}})
        self.api("networkd", "PUT", f"/v2.0/quotas/{alpha}", "admin", json={"quota": {
            "network": 100, "subnet": 100, "port": 500, "router": 100, "floatingip": 50,
            "security_group": 100, "security_group_rule": 500}})

    def make_identity(self) -> None:
        ids = self.ids
        made = self.api("identity", "POST",
                        f"/v3/users/{ids['member_user']}/application_credentials",
                        json={"application_credential": {"name": self.unique("appcred")}})
        ids["appcred"] = made.json()["application_credential"]["id"]
        ec2 = self.api("identity", "POST", f"/v3/users/{ids['member_user']}/credentials/OS-EC2",
                       json={"tenant_id": ids["alpha"]}).json()["credential"]
        ids["ec2_access"] = ec2["access"]
        listed = self.api("identity", "GET", f"/v3/credentials?user_id={ids['member_user']}")
        ids["credential"] = next(c["id"] for c in listed.json()["credentials"]
                                 if ec2["access"] in c["blob"])
        self.private |= {ids["appcred"], ids["ec2_access"], ids["credential"]}
        self.makers.update({
            "project": lambda: self._project(self.unique("project")),
            "user": self._fresh_user,
            "granted_user": self._fresh_granted_user,
            "role": lambda: self.api("identity", "POST", "/v3/roles", "admin", json={
                "role": {"name": self.unique("role")}}).json()["role"]["id"],
            "token": self.member_token,
            "appcred": lambda: self.api(
                "identity", "POST", f"/v3/users/{ids['member_user']}/application_credentials",
                json={"application_credential": {"name": self.unique("appcred")}},
            ).json()["application_credential"]["id"],
            "ec2": lambda: self.api(
                "identity", "POST", f"/v3/users/{ids['member_user']}/credentials/OS-EC2",
                json={"tenant_id": ids["alpha"]}).json()["credential"]["access"],
        })

    def _fresh_user(self) -> str:
        return self.api("identity", "POST", "/v3/users", "admin", json={"user": {
            "name": self.unique("user"), "domain_id": "default",
            "password": uuid.uuid4().hex}}).json()["user"]["id"]

    def _fresh_granted_user(self) -> str:
        user_id = self._fresh_user()
        self.api("identity", "PUT", f"/v3/projects/{self.ids['alpha']}/users/{user_id}/roles/"
                 f"{self.ids['role_reader']}", "admin")
        return user_id

    # --- images -------------------------------------------------------------------------
    def new_image(self, as_: str = "member", **fields) -> str:
        body = {"name": self.unique("image"), "disk_format": "raw",
                "container_format": "bare", **fields}
        return self.api("imaged", "POST", "/v2/images", as_, json=body).json()["id"]

    def active_image(self, as_: str = "member", **fields) -> str:
        image_id = self.new_image(as_, **fields)
        self.api("imaged", "PUT", f"/v2/images/{image_id}/file", as_, data=DATA,
                 headers=OCTETS)
        return image_id

    def shared_image(self) -> str:
        image_id = self.active_image(visibility="shared")
        self.api("imaged", "POST", f"/v2/images/{image_id}/members",
                 json={"member": self.ids["beta"]})
        return image_id

    def make_images(self) -> None:
        ids = self.ids
        ids["image"] = self.active_image(tags=["rm"], rm_property="a value")
        ids["image_queued"] = self.new_image()
        ids["image_public"] = self.active_image("admin", visibility="public")
        ids["image_shared"] = self.shared_image()
        imported = self.new_image()
        self.api("imaged", "PUT", f"/v2/images/{imported}/stage", data=DATA, headers=OCTETS)
        self.api("imaged", "POST", f"/v2/images/{imported}/import",
                 json={"method": {"name": "glance-direct"}})
        ids["image_imported"] = imported
        ids["task"] = wait_for(lambda: self._finished_task(imported), 120,
                               what="the import task")
        ids["namespace"] = self.namespace()
        self.private |= {ids["image"], ids["image_queued"], ids["image_imported"],
                         ids["task"]}

        def deactivated() -> str:
            image_id = self.active_image()
            self.api("imaged", "POST", f"/v2/images/{image_id}/actions/deactivate")
            return image_id

        def staged() -> str:
            image_id = self.new_image()
            self.api("imaged", "PUT", f"/v2/images/{image_id}/stage", data=DATA,
                     headers=OCTETS)
            return image_id

        def cached() -> str:
            image_id = self.active_image()
            self.api("imaged", "PUT", f"/v2/cache/{image_id}", "admin")
            return image_id

        ids["store"] = next(store["id"] for store in self.api(
            "imaged", "GET", "/v2/info/stores").json()["stores"] if store.get("default"))
        self.makers.update({
            "tagged_image": lambda: self.new_image(tags=["rm"]),
            "image_with_property": lambda: self.new_image(rm_property="a value"),
            "shareable_image": lambda: self.active_image(visibility="shared"),
            "image": self.new_image, "active_image": self.active_image,
            "deactivated_image": deactivated, "staged_image": staged,
            "shared_image": self.shared_image, "cached_image": cached,
            "namespace": self.namespace,
        })

    def _finished_task(self, image_id: str) -> str | None:
        tasks = self.api("imaged", "GET", f"/v2/images/{image_id}/tasks",
                         "admin").json()["tasks"]
        if tasks and tasks[0]["status"] in ("success", "failure"):
            return tasks[0]["id"]
        return None

    def namespace(self) -> str:
        name = self.unique("NS")
        self.api("imaged", "POST", "/v2/metadefs/namespaces", "admin", json={
            "namespace": name, "display_name": "Role matrix", "visibility": "public",
            "protected": False,
            "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "rm_"}]})
        base = f"/v2/metadefs/namespaces/{name}"
        self.api("imaged", "POST", base + "/objects", "admin", json={
            "name": "rm-object", "required": [],
            "properties": {"rm_size": {"type": "integer", "title": "Size"}}})
        self.api("imaged", "POST", base + "/properties", "admin", json={
            "name": "rm_prop", "title": "A property", "type": "string"})
        self.api("imaged", "POST", base + "/tags/rm-tag", "admin")
        return name

    # --- volumes ------------------------------------------------------------------------
    def vpath(self, path: str, as_: str = "member") -> str:
        project = self.ids["admin_project"] if as_ == "admin" else self.caller(as_).project_id
        return f"/v3/{project}{path}"

    def new_volume(self, wait: bool = True, **fields) -> str:
        volume = self.api("volumed", "POST", self.vpath("/volumes"), json={"volume": {
            "size": 1, "name": self.unique("volume"), **fields}}).json()["volume"]
        if wait:
            self.wait_volume(volume["id"], "available")
        return volume["id"]

    def wait_volume(self, volume_id: str, status: str) -> None:
        def reached() -> bool:
            shown = self.api("volumed", "GET", self.vpath(f"/volumes/{volume_id}")
                             ).json()["volume"]
            assert shown["status"] != "error", shown
            return shown["status"] == status
        wait_for(reached, 120, what=f"volume {volume_id} {status}")

    def new_snapshot(self, volume_id: str | None = None) -> str:
        snapshot = self.api("volumed", "POST", self.vpath("/snapshots"), json={"snapshot": {
            "volume_id": volume_id or self.ids["volume"],
            "name": self.unique("snapshot")}}).json()["snapshot"]
        wait_for(lambda: self.api("volumed", "GET", self.vpath(
            f"/snapshots/{snapshot['id']}")).json()["snapshot"]["status"]
            == "available", 120, what="snapshot available")
        return snapshot["id"]

    def start_backup(self) -> str:
        """A backup of a volume of its own, begun (a backup takes tens of
        seconds: the pool's are begun early and run while other work goes on)."""
        return self.api("volumed", "POST", self.vpath("/backups"), json={"backup": {
            "volume_id": self.new_volume(), "name": self.unique("backup")}}
        ).json()["backup"]["id"]

    def new_backup(self) -> str:
        backup_id = self._backup_pool.pop(0) if self._backup_pool else self.start_backup()
        wait_for(lambda: self.api("volumed", "GET", self.vpath(
            f"/backups/{backup_id}")).json()["backup"]["status"]
            == "available", 300, interval=1, what="backup available")
        return backup_id

    def _private_backup(self) -> str:
        backup_id = self.new_backup()
        self.private.add(backup_id)
        return backup_id

    def attachment_of(self, volume_id: str) -> str:
        return self.api("volumed", "GET", self.vpath(f"/attachments?volume_id={volume_id}")
                        ).json()["attachments"][0]["id"]

    def new_attachment(self) -> str:
        volume_id = self.new_volume()
        return self.api("volumed", "POST", self.vpath("/attachments"), json={"attachment": {
            "volume_uuid": volume_id, "instance_uuid": str(uuid.uuid4())}}
        ).json()["attachment"]["id"]

    def connected_attachment(self) -> str:
        attachment_id = self.new_attachment()
        self.api("volumed", "PUT", self.vpath(f"/attachments/{attachment_id}"), json={
            "attachment": {"connector": CONNECTOR}})
        return attachment_id

    def volume_action(self, volume_id: str, action: str, argument=None) -> None:
        self.api("volumed", "POST", self.vpath(f"/volumes/{volume_id}/action"),
                 json={action: {} if argument is None else argument})

    # The older attach flow, one step further each (Nova's calls before the
    # attachments API): reserved, connected (exported), attached, detaching.
    def attachable_volume(self) -> str:
        """An available volume for the older attach actions (detached and
        unreserved at the end, whatever they did to it)."""
        volume_id = self.new_volume()
        self._legacy_volumes.append(volume_id)
        return volume_id

    def reserved_volume(self) -> str:
        volume_id = self.attachable_volume()
        self.volume_action(volume_id, "os-reserve")
        return volume_id

    def connected_volume(self) -> str:
        volume_id = self.reserved_volume()
        self.volume_action(volume_id, "os-initialize_connection", {"connector": CONNECTOR})
        return volume_id

    def legacy_attached_volume(self) -> str:
        volume_id = self.connected_volume()
        self.volume_action(volume_id, "os-attach", {"instance_uuid": str(uuid.uuid4()),
                                                    "mountpoint": "/dev/vdb"})
        return volume_id

    def detaching_volume(self) -> str:
        volume_id = self.legacy_attached_volume()
        self.volume_action(volume_id, "os-begin_detaching")
        return volume_id

    def volume_with_snapshot(self) -> str:
        """A volume and its one snapshot, named by ids["latest_snapshot"]
        (what a revert must name)."""
        volume_id = self.new_volume()
        self.ids["latest_snapshot"] = self.new_snapshot(volume_id)
        return volume_id

    def new_type(self) -> str:
        return self.api("volumed", "POST", self.vpath("/types", "admin"), "admin", json={
            "volume_type": {"name": self.unique("type")}}).json()["volume_type"]["id"]

    def make_volumes(self) -> None:
        ids = self.ids
        ids["volume"] = self.new_volume(metadata={"rm": "a value"})
        # the backups the cases use (one, and two each for the delete and
        # the restore), begun at once
        self._backup_pool = [self.start_backup() for _ in range(5)]
        ids["snapshot"] = self.new_snapshot()
        ids["volume_type"] = self.new_type()
        self.private |= {ids["volume"], ids["snapshot"]}
        self.makers.update({
            "volume_with_metadata": lambda: self.new_volume(metadata={"rm": "a value"}),
            "connected_attachment": self.connected_attachment,
            "volume": self.new_volume, "snapshot": self.new_snapshot,
            "backup": self.new_backup, "attachment": self.new_attachment,
            "volume_type": self.new_type,
            "attachable_volume": self.attachable_volume,
            "reserved_volume": self.reserved_volume, "connected_volume": self.connected_volume,
            "legacy_attached_volume": self.legacy_attached_volume,
            "detaching_volume": self.detaching_volume,
            "volume_with_snapshot": self.volume_with_snapshot,
        })

    # --- networks -----------------------------------------------------------------------
    def new_network(self) -> str:
        return self.api("networkd", "POST", "/v2.0/networks", json={"network": {
            "name": self.unique("net")}}).json()["network"]["id"]

    def new_subnet(self, network_id: str | None = None) -> str:
        return self.api("networkd", "POST", "/v2.0/subnets", json={"subnet": {
            "network_id": network_id or self.new_network(), "ip_version": 4,
            "cidr": self.unique_cidr(),
            "name": self.unique("subnet")}}).json()["subnet"]["id"]

    def new_port(self) -> str:
        return self.api("networkd", "POST", "/v2.0/ports", json={"port": {
            "network_id": self.ids["network"], "name": self.unique("port")}}
        ).json()["port"]["id"]

    def new_router(self) -> str:
        return self.api("networkd", "POST", "/v2.0/routers", json={"router": {
            "name": self.unique("router")}}).json()["router"]["id"]

    def new_security_group(self) -> str:
        return self.api("networkd", "POST", "/v2.0/security-groups", json={
            "security_group": {"name": self.unique("sg")}}).json()["security_group"]["id"]

    def new_security_group_rule(self) -> str:
        port = self.unique_port()
        return self.api("networkd", "POST", "/v2.0/security-group-rules", json={
            "security_group_rule": {"security_group_id": self.ids["security_group"],
                                    "direction": "ingress", "protocol": "tcp",
                                    "ethertype": "IPv4",
                                    "port_range_min": port, "port_range_max": port}}
        ).json()["security_group_rule"]["id"]

    def new_floatingip(self) -> str:
        return self.api("networkd", "POST", "/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": self.ids["public_network"]}}).json()["floatingip"]["id"]

    def make_networks(self) -> None:
        ids = self.ids
        ids["public_network"] = next(n["id"] for n in self.api(
            "networkd", "GET", "/v2.0/networks?name=public", "admin").json()["networks"])
        ids["network"] = self.new_network()
        ids["subnet"] = self.new_subnet(ids["network"])
        ids["port"] = self.new_port()
        ids["router"] = self.new_router()
        ids["security_group"] = self.new_security_group()
        ids["security_group_rule"] = self.new_security_group_rule()
        ids["floatingip"] = self.new_floatingip()
        self.api("networkd", "PUT", f"/v2.0/networks/{ids['network']}/tags/rm-tag")
        self.private |= {ids[k] for k in ("network", "subnet", "port", "router",
                                          "security_group",
                                          "security_group_rule", "floatingip")}
        self.makers.update({
            "network": self.new_network, "subnet": self.new_subnet, "port": self.new_port,
            "router": self.new_router, "security_group": self.new_security_group,
            "security_group_rule": self.new_security_group_rule,
            "floatingip": self.new_floatingip,
            "tagged_network": self._tagged_network,
            "router_with_interface": self._router_with_interface,
        })

    def _router_with_interface(self) -> str:
        """A router with an interface on a subnet of its own (a subnet's
        gateway address is one router's), named by ids["interface_subnet"]."""
        router_id, subnet_id = self.new_router(), self.new_subnet()
        self.api("networkd", "PUT", f"/v2.0/routers/{router_id}/add_router_interface",
                 json={"subnet_id": subnet_id})
        self.ids["interface_subnet"] = subnet_id
        return router_id

    def _tagged_network(self) -> str:
        network_id = self.new_network()
        self.api("networkd", "PUT", f"/v2.0/networks/{network_id}/tags/rm-tag")
        return network_id

    # --- compute ------------------------------------------------------------------------
    def start_server(self) -> None:
        """Boot the one server (its wait is in finish_server, so that the
        other resources are made while it boots)."""
        ids = self.ids
        ids["tiny_image"] = next(i["id"] for i in self.api(
            "imaged", "GET", f"/v2/images?name={TINY_IMAGE}", "admin").json()["images"])
        ids["keypair"] = self.unique("key")
        self.api("computed", "POST", "/v2.1/os-keypairs", json={"keypair": {
            "name": ids["keypair"]}})
        ids["server"] = self.api("computed", "POST", "/v2.1/servers", json={"server": {
            "name": self.unique("server"), "imageRef": ids["tiny_image"], "flavorRef": "1",
            "networks": [{"uuid": ids["network"]}], "metadata": {"rm": "a value"}}}
        ).json()["server"]["id"]
        ids["doomed_flavor"] = self.new_flavor(disk=100000, public=True)
        ids["public_flavor"] = ids["doomed_flavor"]
        ids["flavor"] = self.new_flavor()
        ids["hypervisor"] = str(self.api("computed", "GET", "/v2.1/os-hypervisors", "admin"
                                         ).json()["hypervisors"][0]["id"])
        ids["network_name"] = self.api("networkd", "GET", f"/v2.0/networks/{ids['network']}"
                                       ).json()["network"]["name"]
        self.private |= {ids["server"], ids["keypair"]}

    def new_flavor(self, disk: int = 1, public: bool = False) -> str:
        flavor = self.api("computed", "POST", "/v2.1/flavors", "admin", json={"flavor": {
            "name": self.unique("flavor"), "ram": 64, "vcpus": 1, "disk": disk,
            "os-flavor-access:is_public": public}}).json()["flavor"]
        self.api("computed", "POST", f"/v2.1/flavors/{flavor['id']}/os-extra_specs", "admin",
                 json={"extra_specs": {"rm:spec": "a value"}})
        return flavor["id"]

    def server_status(self, server_id: str) -> str:
        return self.api("computed", "GET", f"/v2.1/servers/{server_id}",
                        "admin").json()["server"]["status"]

    def finish_server(self) -> None:
        ids = self.ids
        server = ids["server"]
        wait_for(lambda: self.server_status(server) in ("ACTIVE", "ERROR"), BOOT_TIMEOUT,
                 interval=1, what="the server ACTIVE")
        assert self.server_status(server) == "ACTIVE"
        ids["server_port"] = self.api("computed", "GET", f"/v2.1/servers/{server}/os-interface"
                                      ).json()["interfaceAttachments"][0]["port_id"]
        ids["instance_action"] = self.api(
            "computed", "GET", f"/v2.1/servers/{server}/os-instance-actions"
        ).json()["instanceActions"][0]["request_id"]
        self.api("computed", "PUT", f"/v2.1/servers/{server}/tags/rm-tag",
                 headers={"X-OpenStack-Nova-API-Version": "2.26"})
        ids["attached_volume"] = self.attached_volume()
        # an attachment that lasts (volumed releases one no server holds)
        ids["attachment"] = self.attachment_of(ids["attached_volume"])
        self.private |= {ids["attachment"]}
        self.lazy["backup"] = self._private_backup
        ids["errored_server"] = self.doomed_server()
        self.private |= {ids["errored_server"]}
        # for lock and unlock, which Nova allows in any state
        self.lazy.update({
            "lock_server": lambda: self._private(self.doomed_server()),
            "owner_locked_server": lambda: self._private(self.locked_server("member")),
            "admin_locked_server": lambda: self._private(self.locked_server("admin")),
        })
        self.makers.update({
            "doomed_server": self.doomed_server, "flavor": self.new_flavor,
            "doomed_server_with_metadata": lambda: self.doomed_server(metadata={"rm": "x"}),
            "server_tag": self._server_tag,
            "keypair": self.new_keypair, "attached_volume": self.attached_volume,
        })

    def doomed_server(self, **fields) -> str:
        server_id = self.api("computed", "POST", "/v2.1/servers", json={"server": {
            "name": self.unique("doomed"), "imageRef": self.ids["tiny_image"],
            "flavorRef": self.ids["doomed_flavor"], "networks": "none", **fields}},
            headers={"X-OpenStack-Nova-API-Version": "2.37"}).json()["server"]["id"]
        wait_for(lambda: self.server_status(server_id) == "ERROR", 60, interval=0.5,
                 what="the doomed server in ERROR")
        return server_id

    def locked_server(self, by: str) -> str:
        """A server in ERROR locked by its project's member, or by an admin
        from outside (whose lock only an admin lifts)."""
        server_id = self.doomed_server()
        self.api("computed", "POST", f"/v2.1/servers/{server_id}/action", by,
                 json={"lock": None})
        return server_id

    def _private(self, resource_id: str) -> str:
        self.private.add(resource_id)
        return resource_id

    def _server_tag(self) -> str:
        tag = self.unique("tag")
        self.api("computed", "PUT", f"/v2.1/servers/{self.ids['server']}/tags/{tag}",
                 headers={"X-OpenStack-Nova-API-Version": "2.26"})
        return tag

    def new_keypair(self) -> str:
        name = self.unique("key")
        self.api("computed", "POST", "/v2.1/os-keypairs", json={"keypair": {"name": name}})
        return name

    def attached_volume(self) -> str:
        volume_id = self.new_volume()
        self.api("computed", "POST", f"/v2.1/servers/{self.ids['server']}/os-volume_attachments",
                 json={"volumeAttachment": {"volumeId": volume_id}})
        self.wait_volume(volume_id, "in-use")
        return volume_id

    # --- the whole ----------------------------------------------------------------------
    def build(self) -> None:
        self.build_callers()
        self.raise_quotas()
        self.make_identity()
        self.make_networks()
        self.start_server()
        self.make_images()
        self.make_volumes()
        self.finish_server()

    def ours(self, name: str | None) -> bool:
        """Made by this world (every name it gives is rm-<kind>-<suffix>-n)."""
        return bool(name) and name.startswith("rm-") and f"-{self.suffix}-" in (name or "")

    def cleanup(self) -> None:
        """Delete what the cases made that other tests of the stack would
        see or count: servers and volumes (the admin's project's quotas are
        shared; the volumes the older attach actions left in use are
        detached first), the admin's project's images, and everything
        visible to every project (the public image, flavors, metadata
        namespaces, volume types, roles). Best effort: the stack goes with
        the session anyway."""
        admin = self.admin_token

        def listed(service: str, path: str, key: str) -> list[dict]:
            response = self.request(service, "GET", path, admin)
            return response.json().get(key, []) if response.status_code == 200 else []

        for server in listed("computed", "/v2.1/servers?all_tenants=1", "servers"):
            if self.ours(server["name"]):
                self.request("computed", "DELETE", f"/v2.1/servers/{server['id']}", admin)
        for volume in listed("volumed", self.vpath("/volumes?all_tenants=1", "admin"),
                             "volumes"):
            if volume["id"] in self._legacy_volumes:
                # what the older attach actions left: detached (unexported), unreserved
                for action in ("os-detach", "os-unreserve"):
                    self.request("volumed", "POST",
                                 self.vpath(f"/volumes/{volume['id']}/action", "admin"),
                                 admin, json={action: {}})
            if self.ours(volume.get("name")):
                self.request("volumed", "DELETE",
                             self.vpath(f"/volumes/{volume['id']}?cascade=true", "admin"),
                             admin)
        for flavor in listed("computed", "/v2.1/flavors?is_public=None", "flavors"):
            if self.ours(flavor["name"]):
                self.request("computed", "DELETE", f"/v2.1/flavors/{flavor['id']}", admin)
        for image in (listed("imaged", "/v2/images?visibility=public", "images")
                      + listed("imaged", f"/v2/images?owner={self.ids['admin_project']}",
                               "images")):
            if self.ours(image.get("name")):
                self.request("imaged", "DELETE", f"/v2/images/{image['id']}", admin)
        for namespace in listed("imaged", "/v2/metadefs/namespaces?limit=1000", "namespaces"):
            if self.ours(namespace["namespace"]):
                self.request("imaged", "DELETE",
                             f"/v2/metadefs/namespaces/{namespace['namespace']}", admin)
        for volume_type in listed("volumed", self.vpath("/types", "admin"), "volume_types"):
            if self.ours(volume_type["name"]):
                self.request("volumed", "DELETE",
                             self.vpath(f"/types/{volume_type['id']}", "admin"), admin)
        for role in listed("identity", "/v3/roles", "roles"):
            if self.ours(role["name"]):
                self.request("identity", "DELETE", f"/v3/roles/{role['id']}", admin)
