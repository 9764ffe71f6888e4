"""`openstack server event list` / `server event show` (Nova's
os-instance-actions at 2.1) with the unmodified client: each request on a
server is one action; its steps are shown to admins only."""
from __future__ import annotations

import json

from tests.support.compute import unique


def test_a_servers_actions_in_order_with_their_steps_for_admins(stack, demo):
    server = demo.create(name=unique("events"))
    demo.wait_status(server["id"], "ACTIVE")
    assert demo.action(server["id"], "os-stop").status_code == 202
    demo.wait_status(server["id"], "SHUTOFF", task_state=None)
    listed = json.loads(stack.openstack("server", "event", "list", server["id"],
                                        "-f", "json").stdout)
    assert [row["Action"] for row in listed] == ["stop", "create"], listed
    stop = listed[0]["Request ID"]
    as_admin = json.loads(stack.openstack("server", "event", "show", server["id"], stop,
                                          "-f", "json", cloud="pocketstack-admin").stdout)
    assert as_admin["action"] == "stop"
    assert [e["result"] for e in as_admin["events"]] == ["Success"], as_admin
    as_member = json.loads(stack.openstack("server", "event", "show", server["id"], stop,
                                           "-f", "json").stdout)
    assert as_member["action"] == "stop" and as_member["events"] == [], as_member
    missing = stack.openstack("server", "event", "show", server["id"], "req-nothing",
                              check=False)
    assert missing.returncode != 0
    demo.delete(server["id"])
