"""A server's metadata documents: the OpenStack tree and the EC2 tree, each
by version, answered by path as Nova's metadata API answers
(nova/api/metadata/base.py, InstanceMetadata.lookup).

    /                                  the EC2 versions, then latest
    /openstack                         the OpenStack versions, then latest
    /openstack/<version>               what that version has (a listing)
    /openstack/<version>/meta_data.json      uuid, name, hostname, keys ...
    /openstack/<version>/user_data           as given at create (404: none)
    /openstack/<version>/network_data.json   links, networks, services
    /openstack/<version>/vendor_data.json    {}
    /openstack/<version>/vendor_data2.json   {"static": {}}
    /<ec2 version>                     meta-data/ and user-data
    /<ec2 version>/meta-data/...       instance-id, ami-id, hostname, ...
    /<ec2 version>/user-data

A listing is one name per line; a name that is itself a directory ends
with "/" (EC2's public-keys/ lists "0=<key name>", as EC2 does). A newer
version of a document has more fields; `latest` is the newest. Nova's
"password" (Windows guests post an encrypted password there) is not served:
the proxy forwards GET and HEAD only.

Nothing here reads a database or the network: Documents is built from an
InstanceFacts, and the same Documents give both the service's answers and
the config drive's files (config_drive_files).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass

from computed.metadata.facts import InstanceFacts
from computed.metadata.network_data import (
    fixed_ipv4_addresses,
    floating_addresses,
    network_data,
)

EC2_VERSIONS = ["1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
                "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04"]
# OpenStack versions are release dates (Folsom ... Epoxy); each added fields.
FOLSOM, GRIZZLY, HAVANA, LIBERTY = "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15"
NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY = "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27"
VICTORIA, EPOXY = "2020-10-14", "2025-04-04"
OPENSTACK_VERSIONS = [FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA,
                      ROCKY, VICTORIA, EPOXY]
LATEST = "latest"
# The EC2 versions Nova writes to a config drive ([api] config_drive_skip_versions
# skips the older ones by default).
CONFIG_DRIVE_EC2_VERSIONS = ["2009-04-04", LATEST]

META_DATA = "meta_data.json"
USER_DATA = "user_data"
NETWORK_DATA = "network_data.json"
VENDOR_DATA = "vendor_data.json"
VENDOR_DATA2 = "vendor_data2.json"

TEXT = "text/plain"
JSON = "application/json"
RANDOM_SEED_BYTES = 512


class PathNotFound(Exception):
    """No such path for this server (404)."""


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str


def ec2_id(number: int, prefix: str) -> str:
    """EC2's id of an integer: i-0000002a, ami-00000001."""
    return f"{prefix}-{number:08x}"


def openstack_versions_listed(today: str) -> list[str]:
    """The versions /openstack lists: none from the future (Nova hides a
    version until its date), then latest."""
    return [v for v in OPENSTACK_VERSIONS if v <= today] + [LATEST]


def render(data) -> bytes:
    """A tree node as the EC2 API prints it (Nova's ec2_md_print): a
    directory lists its names, sorted, a sub-directory with "/" (or with its
    _name, for public-keys); a list is one item per line."""
    if isinstance(data, dict):
        lines = []
        for key in sorted(data):
            if key == "_name":
                continue
            value = data[key]
            if isinstance(value, dict):
                lines.append(str(value["_name"]) if "_name" in value else f"{key}/")
            else:
                lines.append(key)
        return "\n".join(lines).encode()
    if isinstance(data, list):
        return "\n".join(str(item) for item in data).encode()
    if isinstance(data, bytes):
        return data
    return str(data).encode()


def normalize(path: str) -> str:
    """/a/b/ and a/b and /a//b/. are all /a/b (normpath keeps a leading //)."""
    return posixpath.normpath("/" + path.lstrip("/"))


def _at_least(required: str, version: str, versions: list[str]) -> bool:
    return versions.index(version) >= versions.index(required)


def _newest(version: str, versions: list[str]) -> str:
    """`latest` is the newest version; anything unknown is not found."""
    if version == LATEST:
        return versions[-1]
    if version not in versions:
        raise PathNotFound(version)
    return version


class Documents:
    """One server's documents. `random_bytes` makes each meta_data.json's
    random_seed (fresh for every answer, as in Nova); `today` hides future
    versions from the /openstack listing."""

    def __init__(self, facts: InstanceFacts, *,
                 random_bytes: Callable[[int], bytes] = os.urandom,
                 today: Callable[[], str] = lambda: dt.date.today().isoformat()):
        self.facts = facts
        self._random_bytes = random_bytes
        self._today = today
        self.network_data = network_data(facts.nics)

    @property
    def project_id(self) -> str:
        return self.facts.project_id

    # --- answering a path --------------------------------------------------------------
    def lookup(self, path: str) -> Answer:
        """The answer for a request path, or PathNotFound."""
        tokens = normalize(path).split("/")[1:]
        if tokens[0] not in ("ec2", "openstack"):
            tokens = ["ec2"] if tokens[0] == "" else ["ec2", *tokens]
        if len(tokens) == 1:
            versions = openstack_versions_listed(self._today()) \
                if tokens[0] == "openstack" else EC2_VERSIONS + [LATEST]
            return Answer(render(versions), TEXT)
        if tokens[0] == "openstack":
            return self._openstack(tokens[1], "/".join(tokens[2:]))
        tree = self.ec2_tree(tokens[1])
        return Answer(render(_find(tree, tokens[2:])), TEXT)

    def _openstack(self, version_name: str, name: str) -> Answer:
        version = _newest(version_name, OPENSTACK_VERSIONS)
        if name == "":
            return Answer(render(self.openstack_names(version)), TEXT)
        if name == META_DATA:
            return Answer(_json(self.meta_data(version)), JSON)
        if name == USER_DATA and self.facts.user_data is not None:
            return Answer(self.facts.user_data, TEXT)
        if name == NETWORK_DATA and _at_least(LIBERTY, version, OPENSTACK_VERSIONS):
            return Answer(_json(self.network_data), TEXT)  # Nova leaves it text/plain
        if name == VENDOR_DATA and _at_least(HAVANA, version, OPENSTACK_VERSIONS):
            return Answer(_json(self.vendor_data()), JSON)
        if name == VENDOR_DATA2 and _at_least(NEWTON_TWO, version, OPENSTACK_VERSIONS):
            return Answer(_json(self.vendor_data2()), JSON)
        raise PathNotFound(name)

    # --- the OpenStack tree ------------------------------------------------------------
    def openstack_names(self, version: str) -> list[str]:
        """What /openstack/<version> lists."""
        names = [META_DATA]
        if self.facts.user_data is not None:
            names.append(USER_DATA)
        if _at_least(HAVANA, version, OPENSTACK_VERSIONS):
            names.append(VENDOR_DATA)
        if _at_least(LIBERTY, version, OPENSTACK_VERSIONS):
            names.append(NETWORK_DATA)
        if _at_least(NEWTON_TWO, version, OPENSTACK_VERSIONS):
            names.append(VENDOR_DATA2)
        return names

    def meta_data(self, version: str) -> dict:
        """meta_data.json of a version, its fields in Nova's order."""
        facts = self.facts
        document: dict = {"uuid": facts.uuid}
        if facts.meta:
            document["meta"] = dict(facts.meta)
        if facts.key_name and facts.public_key:
            document["public_keys"] = {facts.key_name: facts.public_key}
            document["keys"] = [{"name": facts.key_name, "type": facts.key_type,
                                 "data": facts.public_key}]
        document["hostname"] = facts.hostname
        document["name"] = facts.name
        document["launch_index"] = facts.launch_index
        document["availability_zone"] = facts.availability_zone
        if _at_least(GRIZZLY, version, OPENSTACK_VERSIONS):
            seed = self._random_bytes(RANDOM_SEED_BYTES)
            document["random_seed"] = base64.b64encode(seed).decode()
        if _at_least(LIBERTY, version, OPENSTACK_VERSIONS):
            document["project_id"] = facts.project_id
        if _at_least(NEWTON_ONE, version, OPENSTACK_VERSIONS):
            document["devices"] = []   # no device tags here (Nova's tagged devices)
        if _at_least(VICTORIA, version, OPENSTACK_VERSIONS):
            document["dedicated_cpus"] = []   # no CPU pinning here
        return document

    @staticmethod
    def vendor_data() -> dict:
        """Nova's StaticJSON provider without a vendordata_jsonfile_path."""
        return {}

    @staticmethod
    def vendor_data2() -> dict:
        """Each provider's data under its name: StaticJSON's is "static"."""
        return {"static": {}}

    # --- the EC2 tree ------------------------------------------------------------------
    def ec2_tree(self, version_name: str) -> dict:
        """{"meta-data": {...}, "user-data": bytes} of an EC2 version."""
        version = _newest(version_name, EC2_VERSIONS)
        facts = self.facts
        fixed = fixed_ipv4_addresses(facts.nics)
        floating = floating_addresses(facts.nics)
        meta: dict = {
            "ami-id": ec2_id(facts.ec2_image_id, "ami")
            if facts.ec2_image_id is not None else None,
            "ami-launch-index": facts.launch_index,
            "ami-manifest-path": "FIXME",   # what Nova answers, word for word
            "instance-id": ec2_id(facts.ec2_instance_id, "i"),
            "hostname": facts.hostname,
            "local-ipv4": fixed[0] if fixed else None,
            "reservation-id": facts.reservation_id,
            "security-groups": list(facts.security_groups),
        }
        if facts.key_name:
            # public-keys/ lists "0=<name>"; public-keys/0/ lists openssh-key
            meta["public-keys"] = {"0": {"_name": f"0={facts.key_name}",
                                         "openssh-key": facts.public_key}}
        if _at_least("2007-01-19", version, EC2_VERSIONS):
            meta["local-hostname"] = facts.hostname
            meta["public-hostname"] = facts.hostname
            meta["public-ipv4"] = floating[0] if floating else ""
        if _at_least("2007-08-29", version, EC2_VERSIONS):
            meta["instance-type"] = facts.flavor_name
        if _at_least("2007-12-15", version, EC2_VERSIONS):
            meta["block-device-mapping"] = self.block_device_mapping()
        if _at_least("2008-02-01", version, EC2_VERSIONS):
            meta["placement"] = {"availability-zone": facts.availability_zone}
        if _at_least("2008-09-01", version, EC2_VERSIONS):
            meta["instance-action"] = "none"
        tree: dict = {"meta-data": meta}
        if facts.user_data is not None:
            tree["user-data"] = facts.user_data
        return tree

    def block_device_mapping(self) -> dict:
        """EC2's names of the disks (Nova's instance_block_mapping): ami and
        root are the root disk, ephemeral0 and swap the flavor's, ebsN the
        volumes in the order of their names."""
        devices = self.facts.devices
        mapping = {"ami": devices.root.removeprefix("/dev/"), "root": devices.root}
        if devices.ephemeral:
            mapping["ephemeral0"] = devices.ephemeral
        if devices.swap:
            mapping["swap"] = devices.swap
        for number, volume in enumerate(sorted(devices.volumes)):
            mapping[f"ebs{number}"] = volume
        return mapping

    # --- the config drive --------------------------------------------------------------
    def config_drive_files(self) -> list[tuple[str, bytes]]:
        """(path, content) of every file of the config drive, as Nova's
        metadata_for_config_drive writes them: ec2/<version>/meta-data.json
        and user-data, then openstack/<version>/... for every version."""
        files: list[tuple[str, bytes]] = []
        for version in CONFIG_DRIVE_EC2_VERSIONS:
            tree = self.ec2_tree(version)
            if "user-data" in tree:
                files.append((f"ec2/{version}/user-data", tree["user-data"]))
            meta = tree["meta-data"]
            if "public-keys" in meta:
                meta["public-keys"]["0"].pop("_name", None)
            files.append((f"ec2/{version}/meta-data.json", _json(meta)))
        for version in OPENSTACK_VERSIONS + [LATEST]:
            for name in self.openstack_names(_newest(version, OPENSTACK_VERSIONS)):
                files.append((f"openstack/{version}/{name}",
                              self.lookup(f"/openstack/{version}/{name}").body))
        return files


def _find(tree, tokens: list[str]):
    """The node at `tokens` in a tree of dicts (Nova's find_path_in_tree)."""
    node = tree
    for token in tokens:
        if not isinstance(node, dict) or token not in node:
            raise PathNotFound("/".join(tokens))
        node = node[token]
    return node


def _json(value) -> bytes:
    return json.dumps(value).encode()
