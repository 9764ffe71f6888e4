"""cloud-init's own OpenStack data source reads the metadata service.

A client nobody here wrote: Debian's cloud-init package (labs/host/
install-packages.sh installs it), run by Debian's python3. A real server
boots on a real stack with a key pair and user data; a second port of that
server (device_owner compute:nova, device_id the server's id, the server's
project: computed need not attach it, networkd's agent plugs its tap) gets
a guest namespace, and in there cloud-init's DataSourceOpenStack goes the
whole way a booting guest goes: the DHCP route to 169.254.169.254,
networkd's metadata proxy, computed's metadata service; it reads the
server's uuid, hostname, public key and user data, and the EC2 tree.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.compute import b64, unique
from tests.support.guest_namespace import plugged_guest
from tests.support.network import networking_fixture

pytestmark = pytest.mark.e2e

DEBIAN_PYTHON = "/usr/bin/python3"
CLOUD_INIT = Path("/usr/lib/python3/dist-packages/cloudinit")
USER_DATA = "#!/bin/sh\necho read by cloud-init\n"

# Run by Debian's python3 inside the guest namespace: cloud-init's
# DataSourceOpenStack with a minimal distro and paths, its findings as JSON.
READ_WITH_CLOUD_INIT = textwrap.dedent("""\
    import json, tempfile
    from cloudinit import distros, helpers
    from cloudinit.sources import DataSourceOpenStack as openstack

    # The data source first asks DMI whether this machine is a Nova guest
    # (product "OpenStack Nova"); the "guest" here is a namespace of a
    # machine that is not. What is tested is everything after that check.
    openstack.detect_openstack = lambda accept_oracle=False: True

    root = tempfile.mkdtemp()
    paths = helpers.Paths({"cloud_dir": root + "/cloud", "run_dir": root + "/run"})
    distro = distros.fetch("debian")("debian", {}, paths)
    config = {"datasource_list": ["OpenStack"], "datasource": {"OpenStack": {
        "metadata_urls": ["http://169.254.169.254"], "max_wait": 60, "timeout": 10,
        "retries": 2}}}
    source = openstack.DataSourceOpenStack(config, distro, paths)
    found = source.get_data()
    hostname = source.get_hostname()
    print(json.dumps({
        "found": found,
        "metadata_address": source.metadata_address,
        "instance_id": source.get_instance_id(),
        "hostname": getattr(hostname, "hostname", hostname),
        "name": source.metadata.get("name"),
        "public_keys": source.get_public_ssh_keys(),
        "user_data": (source.get_userdata_raw() or b"").decode(),
        "ec2_instance_id": (source.ec2_metadata or {}).get("instance-id"),
    }))
    """)

demo_net = networking_fixture("demo")
admin_net = networking_fixture("admin")


@pytest.fixture(scope="module")
def public_key(demo) -> tuple[str, str]:
    """A key pair of the demo user, imported from a key made here: (name, key)."""
    key = Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    name = unique("cloudinit-key")
    response = demo.call("POST", "/os-keypairs",
                         json={"keypair": {"name": name, "public_key": key}})
    assert response.status_code in (200, 201), response.text
    yield name, key
    demo.call("DELETE", f"/os-keypairs/{name}")


def test_cloud_inits_openstack_data_source_reads_the_server(demo, demo_net, admin_net,
                                                            public_key, tmp_path):
    assert (CLOUD_INIT / "sources" / "DataSourceOpenStack.py").exists(), \
        "Debian's cloud-init is missing: apt-get install --no-install-recommends cloud-init"
    private = demo_net.find("network", "private")
    key_name, key = public_key
    name = unique("cloudinit")
    server = demo.create(name=name, networks=[{"uuid": private["id"]}], key_name=key_name,
                         user_data=b64(USER_DATA))
    shown = demo.wait_status(server["id"], "ACTIVE")

    guest, _ = plugged_guest(admin_net, private["id"], tmp_path, device_id=server["id"],
                             project_id=shown["tenant_id"])
    try:
        assert guest.dhcp(extra=("staticroutes",)) is not None
        result = guest.sh(DEBIAN_PYTHON, "-c", READ_WITH_CLOUD_INIT, timeout=180, check=False)
        assert result.returncode == 0, result.stderr[-3000:]
        read = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        guest.close()

    assert read["found"] is True, result.stderr[-3000:]
    assert read["metadata_address"] == "http://169.254.169.254"
    assert read["instance_id"] == server["id"]
    assert read["name"] == name
    assert read["hostname"].split(".")[0] == name
    assert read["public_keys"] == [key]
    assert read["user_data"] == USER_DATA
    assert read["ec2_instance_id"].startswith("i-")
