"""`openstack usage show` and `usage list` (Nova's os-simple-tenant-usage)
with the unmodified client: a running server's hours, RAM, CPU and disk
usage; every project's list is for admins."""
from __future__ import annotations

import json

from tests.support.compute import unique


def test_usage_show_counts_a_running_server_and_usage_list_is_for_admins(stack, demo):
    server = demo.create(name=unique("usage"))
    demo.wait_status(server["id"], "ACTIVE")
    shown = json.loads(stack.openstack("usage", "show", "-f", "json").stdout)
    assert server["id"] in {usage["instance_id"] for usage in shown["Servers"]}, shown
    assert float(shown["CPU Hours"]) > 0 and float(shown["RAM MB-Hours"]) > 0, shown
    listed = json.loads(stack.openstack("usage", "list", "-f", "json",
                                        cloud="pocketstack-admin").stdout)
    assert any(row["Servers"] for row in listed), listed
    refused = stack.openstack("usage", "list", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr
    demo.delete(server["id"])
