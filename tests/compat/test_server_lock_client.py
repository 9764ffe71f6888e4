"""`openstack server lock` / `unlock` with the unmodified client (Nova's
os-lock-server at 2.1): a locked server refuses its project's changes
(409), admins pass; a lock an admin set (or took over) only an admin lifts."""
from __future__ import annotations

from tests.support.compute import unique

ADMIN = "pocketstack-admin"


def test_a_locked_server_refuses_its_project_and_lets_admins_through(stack, demo):
    server = demo.create(name=unique("locked"))
    demo.wait_status(server["id"], "ACTIVE")
    vm = server["id"]
    stack.openstack("server", "lock", vm)
    for command in (["server", "stop", vm], ["server", "delete", vm],
                    ["server", "reboot", vm]):
        refused = stack.openstack(*command, check=False)
        assert refused.returncode != 0 and "is locked" in refused.stderr, refused.stderr
    assert demo.show(vm)["status"] == "ACTIVE"
    stack.openstack("server", "unlock", vm)

    # An admin from another project who locks it takes the project's lock
    # over (Nova's locked_by becomes admin): the project may not lift it.
    stack.openstack("server", "lock", vm)
    stack.openstack("server", "lock", vm, cloud=ADMIN)
    refused = stack.openstack("server", "unlock", vm, check=False)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    stack.openstack("server", "stop", vm, cloud=ADMIN)          # admins pass a lock
    demo.wait_status(vm, "SHUTOFF", task_state=None)
    stack.openstack("server", "unlock", vm, cloud=ADMIN)
    stack.openstack("server", "delete", "--wait", vm)
