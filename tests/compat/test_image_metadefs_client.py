"""`openstack image metadef ...` with the unmodified client."""
from __future__ import annotations

import json


def test_metadef_namespace_list_and_show(stack):
    listed = json.loads(stack.openstack("image", "metadef", "namespace", "list", "-f",
                                        "json").stdout)
    names = {row["namespace"] for row in listed}
    assert {"OS::Compute::LibvirtImage", "OS::OperatingSystem"} <= names
    shown = json.loads(stack.openstack("image", "metadef", "namespace", "show",
                                       "OS::OperatingSystem", "-f", "json").stdout)
    assert shown["namespace"] == "OS::OperatingSystem"
    assert shown["protected"] is True


def test_admin_creates_and_deletes_a_namespace(stack):
    admin = "pocketstack-admin"
    stack.openstack("image", "metadef", "namespace", "create", "--public",
                    "--description", "for a lab", "Lab::CLI", cloud=admin)
    listed = json.loads(stack.openstack("image", "metadef", "namespace", "list", "-f", "json",
                                        cloud=admin).stdout)
    assert "Lab::CLI" in {row["namespace"] for row in listed}
    stack.openstack("image", "metadef", "namespace", "delete", "Lab::CLI", cloud=admin)
    listed = json.loads(stack.openstack("image", "metadef", "namespace", "list", "-f", "json",
                                        cloud=admin).stdout)
    assert "Lab::CLI" not in {row["namespace"] for row in listed}
