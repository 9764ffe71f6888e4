"""The request schemas of computed, networkd and volumed: every route that
takes a body publishes the schema its handler checks (shared.validation),
the bodies the real clients send pass it, and a body that breaks it is a
400 in the service's own words."""
from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask import Blueprint, Flask

from computed.api import schemas as compute_schemas
from networkd import networks, ports, security_groups
from networkd.attributes import POST, PUT, HTTPBadRequest, parse_create, request_schema
from shared.errors import BadRequest
from shared.validation import checked, nova_message, problem
from volumed.api import actions as volume_actions
from volumed.api import schemas as volume_schemas

BODY_METHODS = {"POST", "PUT", "PATCH"}


def undescribed_body_routes(package: str) -> set[str]:
    app = Flask("routes")
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Blueprint) and value.name not in app.blueprints:
                app.register_blueprint(value)
    found = set()
    for rule in app.url_map.iter_rules():
        described = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if described is not None and (described.request is not None or described.no_body):
            continue
        found |= {f"{method} {rule.rule}" for method in (rule.methods or set()) & BODY_METHODS}
    return found


@pytest.mark.parametrize("service", ["computed", "networkd", "volumed"])
def test_every_body_route_publishes_its_schema(service):
    assert undescribed_body_routes(f"{service}.api") == set()


# --- computed: POST /servers and the actions, as the openstack client sends them ---------
IMAGE = "6d0cc6b4-0000-4000-8000-000000000001"
NET = "6d0cc6b4-0000-4000-8000-000000000002"
VOLUME = "6d0cc6b4-0000-4000-8000-000000000003"


@pytest.mark.parametrize("server", [
    {"name": "vm1", "imageRef": IMAGE, "flavorRef": "1", "min_count": 1, "max_count": 1},
    {"name": "vm2", "imageRef": IMAGE, "flavorRef": "1", "min_count": 1, "max_count": 1,
     "networks": [{"uuid": NET}], "key_name": "mykey", "security_groups": [{"name": "web"}],
     "user_data": "ZWNobyBoaQ==", "config_drive": True, "metadata": {"role": "lab"}},
    {"name": "vm3", "imageRef": "", "flavorRef": "1", "min_count": 1, "max_count": 1,
     "networks": "auto", "description": "at 2.37",
     "block_device_mapping_v2": [{"uuid": VOLUME, "boot_index": "0", "source_type": "volume",
                                  "destination_type": "volume",
                                  "delete_on_termination": False}]},
    # Ansible's openstack.cloud.server, through openstacksdk, at any microversion
    {"name": "vm5", "imageRef": IMAGE, "flavorRef": "1", "min_count": 1, "max_count": 1,
     "networks": [{"uuid": NET}], "security_groups": [], "tags": []},
    {"name": "vm4", "imageRef": IMAGE, "flavorRef": "1", "min_count": 2, "max_count": 3,
     "networks": "none", "OS-DCF:diskConfig": "AUTO",
     "block_device_mapping_v2": [{"uuid": IMAGE, "boot_index": 0, "source_type": "image",
                                  "destination_type": "volume", "volume_size": 1}]},
])
def test_the_clients_server_bodies_pass(server):
    assert problem({"server": server, "os:scheduler_hints": {"group": NET}},
                   compute_schemas.SERVER_CREATE) is None


@pytest.mark.parametrize("server, words", [
    ({"imageRef": IMAGE, "flavorRef": "1"}, "'name' is a required property"),
    ({"name": "x", "flavorRef": "1", "colour": "red"},
     "Additional properties are not allowed ('colour' was unexpected)"),
    ({"name": "x", "flavorRef": "1", "min_count": 0},
     "Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1"),
    ({"name": "x", "flavorRef": "1", "networks": [{"uuid": NET, "fixed": "10.0.0.5"}]},
     "('fixed' was unexpected)"),
    ({"name": "x", "flavorRef": "1", "tags": ["web"]},
     "Invalid input for field/attribute tags"),
    ({"name": "x", "flavorRef": "1", "metadata": {"k": 1}},
     "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"),
])
def test_bad_server_bodies_are_400_in_novas_words(server, words):
    with pytest.raises(BadRequest) as caught:
        compute_schemas.checked_nova({"server": server}, compute_schemas.SERVER_CREATE)
    assert words in caught.value.message


@pytest.mark.parametrize("body, fits", [
    ({"os-start": None}, True), ({"reboot": {"type": "HARD"}}, True),
    ({"createImage": {"name": "snap", "metadata": {}}}, True),
    ({"resize": {"flavorRef": "2"}}, True), ({"os-getConsoleOutput": {"length": 50}}, True),
    ({"reboot": {}}, False), ({"reboot": None}, False), ({"createImage": "snap"}, False),
    ({"os-start": None, "os-stop": None}, False), ({"os-getVNCConsole": {"type": "spice"}}, False),
    ({"createBackup": {"name": "b", "backup_type": "daily", "rotation": -1}}, False),
])
def test_server_actions(body, fits):
    assert (problem(body, compute_schemas.SERVER_ACTION) is None) == fits


# --- networkd: the schema is the attribute map's ------------------------------------------
def test_the_published_schema_is_the_one_parse_checks():
    schema = request_schema(networks.RESOURCE, networks.ATTRS, POST)
    body = {"network": {"name": 5}}
    assert problem(body, schema) is not None
    with pytest.raises(HTTPBadRequest) as caught:
        parse_create(networks.RESOURCE, body, networks.ATTRS)
    assert caught.value.message == "Invalid input for name. Reason: 5 is not of type 'string'."
    ports_put = request_schema(ports.RESOURCE, ports.ATTRS, PUT)["properties"]["port"]
    assert ports_put["properties"]["network_id"] is False      # not allowed in PUT
    rules = request_schema(security_groups.RULE, security_groups.RULE_ATTRS, POST)
    assert rules["properties"][security_groups.RULE]["required"] == \
        ["security_group_id", "direction"]


# --- volumed: every action has its schema -------------------------------------------------
def test_every_volume_action_has_a_schema():
    assert set(volume_schemas.VOLUME_ACTIONS) == set(volume_actions.ACTIONS)
    assert problem({"os-extend": {"new_size": 2}}, volume_schemas.VOLUME_ACTION) is None
    assert problem({"os-extend": {"new_size": "x"}}, volume_schemas.VOLUME_ACTION) is not None
    assert problem({"os-reset_status": 5}, volume_schemas.ADMIN_ACTION) is not None


# --- volumed: the other bodies, as the clients send them and as Cinder refuses them ------
UUID_1 = "6d0cc6b4-0000-4000-8000-000000000004"


@pytest.mark.parametrize("schema, body", [
    (volume_schemas.ATTACHMENT_UPDATE, {"attachment": {"connector": {
        "initiator": "iqn.2004-10.org.example:host", "ip": "10.0.0.5", "host": "host",
        "multipath": False, "mountpoint": "/dev/vdb"}}}),
    (volume_schemas.BACKUP_CREATE, {"backup": {"volume_id": UUID_1}}),
    (volume_schemas.BACKUP_CREATE, {"backup": {
        "volume_id": UUID_1, "name": "nightly", "description": None, "container": "db",
        "incremental": "true", "force": False, "snapshot_id": None, "metadata": {"k": "v"}}}),
    (volume_schemas.BACKUP_UPDATE, {"backup": {"name": "b", "metadata": {}}}),
    (volume_schemas.BACKUP_UPDATE, {"backup": None}),
    (volume_schemas.BACKUP_RESTORE, {"restore": {"volume_id": UUID_1, "name": None}}),
    (volume_schemas.BACKUP_RESTORE, {"restore": None}),
    (volume_schemas.QUOTA_UPDATE, {"quota_set": {"volumes": 10, "gigabytes": "-1",
                                                 "tenant_id": "p"}}),
    (volume_schemas.SNAPSHOT_UPDATE, {"snapshot": {"display_description": "x"}}),
    (volume_schemas.SNAPSHOT_METADATA, {"metadata": {"k": "v"}}),
    (volume_schemas.TYPE_EXTRA_SPECS, {"extra_specs": {"volume_backend_name": "file"}}),
])
def test_the_clients_volume_bodies_pass(schema, body):
    assert problem(body, schema) is None


@pytest.mark.parametrize("schema, body, words", [
    (volume_schemas.ATTACHMENT_UPDATE, {"attachment": {"connector": {}}},
     "Invalid input for field/attribute connector. Value: {}. {} should be non-empty"),
    (volume_schemas.ATTACHMENT_UPDATE, {"attachment": {"connector": {"ip": "x"}, "mode": "rw"}},
     "('mode' was unexpected)"),
    (volume_schemas.BACKUP_CREATE, {"backup": {"volume_id": UUID_1}, "extra": 1},
     "Additional properties are not allowed ('extra' was unexpected)"),
    (volume_schemas.BACKUP_CREATE, {"backup": {"volume_id": UUID_1, "container": 5}},
     "Invalid input for field/attribute container. Value: 5."),
    (volume_schemas.BACKUP_UPDATE, {}, "'backup' is a required property"),
    (volume_schemas.BACKUP_RESTORE, {"restore": {"size": 1}}, "('size' was unexpected)"),
    (volume_schemas.QUOTA_UPDATE, {"quota_set": {}},
     "Invalid input for field/attribute quota_set. Value: {}. {} should be non-empty"),
    (volume_schemas.QUOTA_UPDATE, {"quota_set": {"volumes": 1.5}},
     "Invalid input for field/attribute volumes. Value: 1.5."),
    (volume_schemas.QUOTA_UPDATE, {"quota_set": {"volumes": True}},
     "Invalid input for field/attribute volumes. Value: True."),
    (volume_schemas.QUOTA_UPDATE, {"quota_set": {"volumes": -2}}, "less than the minimum"),
    (volume_schemas.QUOTA_UPDATE, {"quota_set": {"groups": 1}}, "('groups' was unexpected)"),
    (volume_schemas.SNAPSHOT_UPDATE, {"snapshot": {"name": 5}},
     "Invalid input for field/attribute name. Value: 5. 5 is not of type 'string', 'null'"),
    (volume_schemas.SNAPSHOT_UPDATE, {"snapshot": {"name": "x", "size": 2}},
     "('size' was unexpected)"),
    (volume_schemas.SNAPSHOT_METADATA, {"metadata": {"k": 1}},
     "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"),
    (volume_schemas.TYPE_EXTRA_SPECS, {"extra_specs": {"k": "v"}, "more": {}},
     "('more' was unexpected)"),
])
def test_bad_volume_bodies_are_400_in_cinders_words(schema, body, words):
    with pytest.raises(BadRequest) as caught:
        checked(body, schema, message=nova_message)
    assert words in caught.value.message
