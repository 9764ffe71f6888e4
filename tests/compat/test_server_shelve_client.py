"""`openstack server shelve` / `unshelve` with the unmodified client (Nova's
os-shelve at 2.1): what is refused and how (the guest's side is
tests/e2e/test_server_shelve.py): unshelving a server that is not shelved
and shelving a shelved one are 409 with Nova's message, shelveOffload is
for admins (403), and deleting a shelved server deletes its image."""
from __future__ import annotations

import json

import requests

from tests.support.compute import Images, unique, wait_for

ADMIN = "pocketstack-admin"


def test_shelve_refusals_and_the_delete_of_a_shelved_server(stack, demo):
    name = unique("shelf")
    server = demo.create(name=name)
    vm = server["id"]
    demo.wait_status(vm, "ACTIVE")
    # (the client itself skips a server that is not shelved: the API's answer)
    refused = demo.action(vm, "unshelve")
    assert refused.status_code == 409
    assert refused.json()["conflictingRequest"]["message"] == \
        f"Cannot 'unshelve' instance {vm} while it is in vm_state active"
    offload = demo.action(vm, "shelveOffload")
    assert offload.status_code == 403, offload.text

    stack.openstack("server", "shelve", "--wait", vm)
    shown = json.loads(stack.openstack("server", "show", vm, "-f", "json").stdout)
    assert shown["status"] in ("SHELVED", "SHELVED_OFFLOADED")
    demo.wait_status(vm, "SHELVED_OFFLOADED", task_state=None)
    again = demo.action(vm, "shelve")
    assert again.status_code == 409
    assert again.json()["conflictingRequest"]["message"] == \
        f"Cannot 'shelve' instance {vm} while it is in vm_state shelved_offloaded"
    # `--offload` on an offloaded server has nothing to do (the client checks).
    stack.openstack("server", "shelve", "--offload", vm, cloud=ADMIN)

    images = Images(stack, demo.token)
    [image] = requests.get(images.url, headers=images.headers, timeout=30,
                           params={"name": f"{name}-shelved"}).json()["images"]
    assert image["instance_uuid"] == vm and image["image_type"] == "snapshot"
    stack.openstack("server", "delete", "--wait", vm)
    wait_for(lambda: requests.get(f"{images.url}/{image['id']}", headers=images.headers,
                                  timeout=30).status_code == 404,
             what="the shelved image deleted with its server")
