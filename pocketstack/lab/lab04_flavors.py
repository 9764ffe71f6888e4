"""Lab 04: flavors (labs/04-flavors.md).

What the steps leave behind: a public flavor lab4-custom with the lab's
numbers; a private flavor lab4-private that project demo was given access
to; a server lab4-vm of lab4-custom whose libvirt domain has the flavor's
vCPUs and RAM and whose guest printed, on its console, its CPUs and disks
(vda, vdb, vdc the sizes of root, ephemeral and swap).
"""
from __future__ import annotations

import re

from pocketstack.cloud import Cloud
from pocketstack.lab import cleanup, host
from pocketstack.lab.base import Lab, LabContext, NotYet, Requirement

CUSTOM = "lab4-custom"
PRIVATE = "lab4-private"
SERVER = "lab4-vm"
GiB, MiB = 1 << 30, 1 << 20
#: lab4-custom as step 2 makes it
NUMBERS = {"vcpus": 2, "ram": 192, "disk": 1, "OS-FLV-EXT-DATA:ephemeral": 1, "swap": 64}


def flavor_named(cloud: Cloud, name: str) -> dict:
    for flavor in cloud.get("compute", "/flavors/detail", is_public="None").json()["flavors"]:
        if flavor["name"] == name:
            return flavor
    raise NotYet(f"no flavor {name}")


def custom_flavor(context: LabContext) -> None:
    flavor = flavor_named(context.admin, CUSTOM)
    found = {key: flavor.get(key) or 0 for key in NUMBERS}
    if found != NUMBERS:
        raise NotYet(f"{CUSTOM} has {found}")


def private_flavor(context: LabContext) -> None:
    flavor = flavor_named(context.admin, PRIVATE)
    if flavor["os-flavor-access:is_public"]:
        raise NotYet(f"{PRIVATE} is public")
    demo = context.admin.get("identity", "/v3/projects", name="demo").json()["projects"]
    access = context.admin.get("compute", f"/flavors/{flavor['id']}/os-flavor-access").json()[
        "flavor_access"]
    if not demo or demo[0]["id"] not in {entry["tenant_id"] for entry in access}:
        raise NotYet(f"project demo has no access to {PRIVATE}")


def lab_server(context: LabContext) -> dict:
    servers = context.user.get("compute", "/servers/detail", name=f"^{SERVER}$").json()[
        "servers"]
    if not servers:
        raise NotYet(f"no server {SERVER}")
    server = servers[0]
    if server["status"] != "ACTIVE":
        raise NotYet(f"{SERVER} is {server['status']}")
    if server["flavor"]["id"] != flavor_named(context.admin, CUSTOM)["id"]:
        raise NotYet(f"{SERVER} is not of {CUSTOM}")
    return server


def domain_has_flavor(context: LabContext) -> None:
    server = lab_server(context)
    xml = host.domain_xml(context.state, server["id"])
    vcpus = re.search(r"<vcpu[^>]*>(\d+)</vcpu>", xml)
    memory = re.search(r"<memory unit='KiB'>(\d+)</memory>", xml)
    if not vcpus or not memory:
        raise NotYet(f"virsh dumpxml {server['id']} shows no <vcpu> or <memory>")
    found = (int(vcpus.group(1)), int(memory.group(1)) // 1024)
    if found != (NUMBERS["vcpus"], NUMBERS["ram"]):
        raise NotYet(f"the domain has {found[0]} vCPUs and {found[1]} MiB")


def guest_saw_it(context: LabContext) -> None:
    server = lab_server(context)
    log = context.user.post("compute", f"/servers/{server['id']}/action",
                            {"os-getConsoleOutput": {}}).json().get("output", "")
    cpus = re.findall(r"^LAB4: cpus=(\d+)", log, re.MULTILINE)
    disks = re.findall(r"^POCKETSTACK-DISKS: (.*)$", log, re.MULTILINE)
    if not cpus:
        raise NotYet(f"no LAB4 line on {SERVER}'s console (its user data did not run)")
    want = {"vda": NUMBERS["disk"] * GiB, "vdb": NUMBERS["OS-FLV-EXT-DATA:ephemeral"] * GiB,
            "vdc": NUMBERS["swap"] * MiB}
    seen = dict(pair.split("=") for pair in disks[-1].split()) if disks else {}
    if int(cpus[-1]) != NUMBERS["vcpus"] or {k: int(v) for k, v in seen.items()} != want:
        raise NotYet(f"the guest saw {cpus[-1]} CPUs and disks {seen}")


class Flavors(Lab):
    number = 4
    title = "flavors"
    text = "04-flavors.md"

    def requirements(self) -> list[Requirement]:
        return [
            Requirement(f"a flavor {CUSTOM}: 2 vCPUs, 192 MiB, 1 GiB disk, 1 GiB ephemeral, "
                        "64 MiB swap", custom_flavor,
                        f"step 2: openstack --os-cloud pocketstack-admin flavor create ... "
                        f"{CUSTOM}"),
            Requirement(f"a private flavor {PRIVATE} that project demo may use",
                        private_flavor,
                        f"step 3: flavor create --private ... {PRIVATE}; "
                        f"flavor set --project $DEMO {PRIVATE}"),
            Requirement(f"{SERVER}'s libvirt domain has {CUSTOM}'s vCPUs and RAM",
                        domain_has_flavor,
                        f"step 4: openstack server create --flavor {CUSTOM} ... {SERVER}"),
            Requirement(f"{SERVER}'s guest saw its CPUs, vda, vdb and vdc", guest_saw_it,
                        f"step 4: server create ... --user-data $USERDATA --wait {SERVER}, "
                        "then wait for POCKETSTACK-USERDATA on its console"),
        ]

    def reset(self, context: LabContext) -> list[str]:
        return (cleanup.delete_servers(context.admin, [SERVER])
                + cleanup.delete_flavors(context.admin, [CUSTOM, PRIVATE, "lab4-refused"]))


LAB = Flavors()
