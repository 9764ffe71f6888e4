"""The metadata documents (computed/metadata/documents.py, network_data.py):
Nova's trees, versions and paths from plain facts, and the config drive's
files, which must say what the service says."""
from __future__ import annotations

import base64
import json

import pytest

from computed.metadata.documents import (
    EC2_VERSIONS,
    JSON,
    OPENSTACK_VERSIONS,
    TEXT,
    Documents,
    PathNotFound,
)
from computed.metadata.facts import Devices, FixedIp, InstanceFacts, Nic, Subnet
from computed.metadata.network_data import network_data

DHCP_SUBNET = Subnet(id="sub-dhcp", cidr="10.0.0.0/24", gateway_ip="10.0.0.1",
                     dhcp_server="10.0.0.2", dns_nameservers=("10.0.0.53",))
STATIC_SUBNET = Subnet(id="sub-static", cidr="192.168.7.0/26", gateway_ip="192.168.7.1",
                       enable_dhcp=False, dns_nameservers=("192.168.7.53", "10.0.0.53"),
                       host_routes=(("172.16.0.0/16", "192.168.7.9"),))
ETH0 = Nic(port_id="port-0", mac_address="fa:16:3e:00:00:01", network_id="net-0",
           fixed_ips=(FixedIp("10.0.0.5", DHCP_SUBNET),), floating_ips=("172.24.4.20",),
           mtu=1450, devname="tapport-0")
ETH1 = Nic(port_id="port-1", mac_address="fa:16:3e:00:00:02", network_id="net-1",
           fixed_ips=(FixedIp("192.168.7.10", STATIC_SUBNET),), mtu=1500,
           vif_type="unbound")


def facts(**changes) -> InstanceFacts:
    values = dict(uuid="0e0b4f4e-0000-4000-8000-000000000001", name="web 1",
                  hostname="web-1", project_id="proj-a", availability_zone="nova",
                  launch_index=0, reservation_id="r-1a2b3c4d", flavor_name="m1.nano",
                  ec2_instance_id=42, ec2_image_id=7, key_name="mykey",
                  public_key="ssh-ed25519 AAAAC3 me@host", user_data=b"#!/bin/sh\necho hi\n",
                  meta={"course": "iaas-101"}, security_groups=("default", "web"),
                  devices=Devices("/dev/vda", "/dev/vdb", None, ("/dev/vdd", "/dev/vdc")),
                  nics=(ETH0, ETH1))
    values.update(changes)
    return InstanceFacts(**values)


def documents(**changes) -> Documents:
    return Documents(facts(**changes), random_bytes=lambda n: b"\x01" * n,
                     today=lambda: "2030-01-01")


def text(docs: Documents, path: str) -> str:
    answer = docs.lookup(path)
    return answer.body.decode()


# --- versions and listings ----------------------------------------------------------------
def test_the_root_lists_the_ec2_versions_and_openstack_its_own_then_latest():
    docs = documents()
    assert text(docs, "/").split("\n") == EC2_VERSIONS + ["latest"]
    assert text(docs, "/openstack").split("\n") == OPENSTACK_VERSIONS + ["latest"]
    assert text(docs, "/openstack/") == text(docs, "openstack")
    assert EC2_VERSIONS[-1] == "2009-04-04" and OPENSTACK_VERSIONS[-1] == "2025-04-04"


def test_a_version_not_yet_released_is_hidden_from_the_listing_but_answers():
    docs = Documents(facts(), today=lambda: "2024-12-31")
    assert "2025-04-04" not in text(docs, "/openstack").split("\n")
    assert json.loads(text(docs, "/openstack/2025-04-04/meta_data.json"))["uuid"]


def test_a_version_lists_what_it_has_user_data_only_when_there_is_some():
    assert text(documents(), "/openstack/latest").split("\n") == [
        "meta_data.json", "user_data", "vendor_data.json", "network_data.json",
        "vendor_data2.json"]
    assert text(documents(user_data=None), "/openstack/2012-08-10/") == "meta_data.json"
    assert text(documents(), "/openstack/2013-10-17").split("\n") == [
        "meta_data.json", "user_data", "vendor_data.json"]


@pytest.mark.parametrize("path", [
    "/openstack/2011-01-01/meta_data.json", "/openstack/latest/password",
    "/openstack/latest/nothing", "/openstack/2012-08-10/network_data.json",
    "/openstack/2016-06-30/vendor_data2.json", "/2010-01-01/meta-data",
    "/meta-data/hostname", "/latest/meta-data/nothing", "/latest/meta-data/hostname/x",
    "/latest/meta-data/security-groups/default", "/openstack/content/0000",
])
def test_what_does_not_exist_is_not_found(path):
    with pytest.raises(PathNotFound):
        documents().lookup(path)


def test_user_data_is_not_found_when_the_server_has_none():
    docs = documents(user_data=None)
    for path in ("/openstack/latest/user_data", "/latest/user-data", "/2009-04-04/user-data"):
        with pytest.raises(PathNotFound):
            docs.lookup(path)
    assert text(docs, "/latest") == "meta-data/"


# --- the OpenStack tree ---------------------------------------------------------------------
def test_latest_meta_data_has_every_field_in_novas_order():
    answer = documents().lookup("/openstack/latest/meta_data.json")
    assert answer.content_type == JSON
    meta = json.loads(answer.body)
    assert list(meta) == ["uuid", "meta", "public_keys", "keys", "hostname", "name",
                          "launch_index", "availability_zone", "random_seed", "project_id",
                          "devices", "dedicated_cpus"]
    assert meta["public_keys"] == {"mykey": "ssh-ed25519 AAAAC3 me@host"}
    assert meta["keys"] == [{"name": "mykey", "type": "ssh",
                             "data": "ssh-ed25519 AAAAC3 me@host"}]
    assert (meta["hostname"], meta["name"], meta["project_id"]) == ("web-1", "web 1",
                                                                     "proj-a")
    assert base64.b64decode(meta["random_seed"]) == b"\x01" * 512


def test_an_older_version_has_fewer_fields():
    meta = json.loads(text(documents(), "/openstack/2012-08-10/meta_data.json"))
    assert "random_seed" not in meta and "project_id" not in meta and "devices" not in meta
    liberty = json.loads(text(documents(), "/openstack/2015-10-15/meta_data.json"))
    assert liberty["project_id"] == "proj-a" and "devices" not in liberty


def test_without_a_key_or_metadata_those_fields_are_absent():
    meta = json.loads(text(documents(key_name=None, public_key=None, meta={}),
                           "/openstack/latest/meta_data.json"))
    assert "public_keys" not in meta and "keys" not in meta and "meta" not in meta


def test_the_random_seed_is_new_for_every_answer():
    docs = Documents(facts())
    first, second = (json.loads(text(docs, "/openstack/latest/meta_data.json"))
                     for _ in range(2))
    assert first["random_seed"] != second["random_seed"]


def test_user_data_is_answered_as_given_and_vendor_data_as_novas_defaults():
    docs = documents(user_data=b"\x00\xffbinary")
    assert docs.lookup("/openstack/latest/user_data").body == b"\x00\xffbinary"
    assert docs.lookup("/latest/user-data").body == b"\x00\xffbinary"
    vendor = docs.lookup("/openstack/latest/vendor_data.json")
    assert (vendor.body, vendor.content_type) == (b"{}", JSON)
    assert json.loads(text(docs, "/openstack/latest/vendor_data2.json")) == {"static": {}}


# --- network_data.json ----------------------------------------------------------------------
def test_network_data_of_a_dhcp_port_and_a_static_one():
    data = json.loads(text(documents(), "/openstack/latest/network_data.json"))
    assert data["links"] == [
        {"id": "tapport-0", "vif_id": "port-0", "type": "tap", "mtu": None,
         "ethernet_mac_address": "fa:16:3e:00:00:01"},
        {"id": "interface1", "vif_id": "port-1", "type": "phy", "mtu": 1500,
         "ethernet_mac_address": "fa:16:3e:00:00:02"}]
    assert data["networks"] == [
        {"id": "network0", "type": "ipv4_dhcp", "link": "tapport-0", "network_id": "net-0"},
        {"id": "network1", "type": "ipv4", "link": "interface1", "ip_address": "192.168.7.10",
         "netmask": "255.255.255.192",
         "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.168.7.1"},
                    {"network": "172.16.0.0", "netmask": "255.255.0.0",
                     "gateway": "192.168.7.9"}],
         "network_id": "net-1",
         "services": [{"type": "dns", "address": "192.168.7.53"},
                      {"type": "dns", "address": "10.0.0.53"}]}]
    assert data["services"] == [{"type": "dns", "address": "10.0.0.53"},
                                {"type": "dns", "address": "192.168.7.53"}]


def test_dhcp_enabled_without_a_dhcp_port_is_still_dhcp_and_keeps_the_mtu():
    subnet = Subnet(id="s", cidr="10.1.0.0/24", enable_dhcp=True)
    nic = Nic(port_id="p", mac_address="m", network_id="n",
              fixed_ips=(FixedIp("10.1.0.4", subnet),), mtu=1400, devname="tapp")
    data = network_data([nic])
    assert data["links"][0]["mtu"] == 1400
    assert data["networks"][0]["type"] == "ipv4_dhcp"


def test_no_port_is_an_empty_document_and_a_port_without_address_no_link():
    assert network_data([]) == {}
    bare = Nic(port_id="p", mac_address="m", network_id="n")
    assert network_data([bare]) == {"links": [], "networks": [], "services": []}
    assert text(documents(nics=()), "/openstack/latest/network_data.json") == "{}"


# --- the EC2 tree ---------------------------------------------------------------------------
def test_ec2_meta_data_lists_its_names_directories_with_a_slash():
    assert text(documents(), "/latest").split("\n") == ["meta-data/", "user-data"]
    assert text(documents(), "/2009-04-04/meta-data/").split("\n") == [
        "ami-id", "ami-launch-index", "ami-manifest-path", "block-device-mapping/",
        "hostname", "instance-action", "instance-id", "instance-type", "local-hostname",
        "local-ipv4", "placement/", "public-hostname", "public-ipv4", "public-keys/",
        "reservation-id", "security-groups"]


def test_ec2_leaves():
    docs = documents()
    expected = {"instance-id": "i-0000002a", "ami-id": "ami-00000007", "hostname": "web-1",
                "local-hostname": "web-1", "local-ipv4": "10.0.0.5",
                "public-ipv4": "172.24.4.20", "instance-type": "m1.nano",
                "placement/availability-zone": "nova", "security-groups": "default\nweb",
                "reservation-id": "r-1a2b3c4d", "ami-launch-index": "0",
                "instance-action": "none"}
    for name, value in expected.items():
        answer = docs.lookup(f"/latest/meta-data/{name}")
        assert (answer.body.decode(), answer.content_type) == (value, TEXT), name


def test_ec2_public_keys_as_ec2_renders_them():
    docs = documents()
    assert text(docs, "/latest/meta-data/public-keys") == "0=mykey"
    assert text(docs, "/latest/meta-data/public-keys/0/") == "openssh-key"
    assert text(docs, "/2009-04-04/meta-data/public-keys/0/openssh-key") == \
        "ssh-ed25519 AAAAC3 me@host"
    assert "public-keys/" not in text(documents(key_name=None), "/latest/meta-data")


def test_ec2_block_device_mapping_names_root_ephemeral_and_volumes_in_order():
    docs = documents()
    assert text(docs, "/latest/meta-data/block-device-mapping").split("\n") == [
        "ami", "ebs0", "ebs1", "ephemeral0", "root"]
    assert text(docs, "/latest/meta-data/block-device-mapping/ami") == "vda"
    assert text(docs, "/latest/meta-data/block-device-mapping/root") == "/dev/vda"
    assert text(docs, "/latest/meta-data/block-device-mapping/ebs0") == "/dev/vdc"
    assert text(docs, "/latest/meta-data/block-device-mapping/ephemeral0") == "/dev/vdb"


def test_older_ec2_versions_have_fewer_names():
    names = text(documents(), "/1.0/meta-data").split("\n")
    assert "local-hostname" not in names and "placement/" not in names
    assert "instance-type" not in text(documents(), "/2007-03-01/meta-data").split("\n")


def test_without_a_floating_ip_public_ipv4_is_empty():
    assert text(documents(nics=(ETH1,)), "/latest/meta-data/public-ipv4") == ""
    assert text(documents(nics=(ETH1,)), "/latest/meta-data/local-ipv4") == "192.168.7.10"


# --- the config drive -----------------------------------------------------------------------
def test_the_config_drive_has_novas_files_and_says_what_the_service_says():
    docs = documents()
    files = dict(docs.config_drive_files())
    assert "ec2/latest/meta-data.json" in files and "ec2/2009-04-04/meta-data.json" in files
    assert "ec2/1.0/meta-data.json" not in files
    assert files["ec2/latest/user-data"] == b"#!/bin/sh\necho hi\n"
    for version in OPENSTACK_VERSIONS + ["latest"]:
        listed = text(docs, f"/openstack/{version}").split("\n")
        assert sorted(p.split("/")[-1] for p in files if p.startswith(f"openstack/{version}/")
                      ) == sorted(listed)
        for name in listed:
            path = f"openstack/{version}/{name}"
            served = docs.lookup("/" + path).body
            if name == "meta_data.json":
                served_doc, drive_doc = json.loads(served), json.loads(files[path])
                served_doc.pop("random_seed", None)
                drive_doc.pop("random_seed", None)
                assert drive_doc == served_doc
            else:
                assert files[path] == served, path


def test_the_config_drives_ec2_meta_data_is_the_tree_without_listing_names():
    meta = json.loads(dict(documents().config_drive_files())["ec2/latest/meta-data.json"])
    assert meta["public-keys"] == {"0": {"openssh-key": "ssh-ed25519 AAAAC3 me@host"}}
    assert meta["instance-id"] == "i-0000002a"
    assert meta["placement"] == {"availability-zone": "nova"}
    assert meta["block-device-mapping"]["ebs1"] == "/dev/vdd"
