"""A stack with its own Swift (pocketstack.conf [swift] enabled), and what
the tests see of that Swift through its own API, as the user whose account
holds the images (imaged's service user, project `service`): the proof of
what imaged's swift store did, seen from outside imaged."""
from __future__ import annotations

import requests

from tests.stack import Stack


def stack_conf(stack: Stack) -> str:
    """pocketstack.conf's [swift] for `stack`: Swift on, on its shifted ports."""
    return (f"[swift]\nenabled = true\nproxy_port = {stack.port('swift-proxy')}\n"
            f"object_port = {stack.port('swift-object')}\n"
            f"container_port = {stack.port('swift-container')}\n"
            f"account_port = {stack.port('swift-account')}\n"
            f"memcached_port = {stack.port('swift-memcached')}\n")


def storage_url(stack: Stack, token: str) -> str:
    """The object-store endpoint of the token's project, from identity's catalog."""
    catalog = requests.get(f"{stack.url('identity')}/v3/auth/catalog",
                           headers={"X-Auth-Token": token}, timeout=30).json()["catalog"]
    entry = next(entry for entry in catalog if entry["type"] == "object-store")
    return next(e["url"] for e in entry["endpoints"] if e["interface"] == "public")


def service_token(stack: Stack) -> str:
    """A token of imaged's service user in project `service` (the account
    imaged's swift store writes to)."""
    return stack.token("imaged", "service")


def objects(stack: Stack, container: str, prefix: str = "") -> list[dict]:
    """The container's objects (name, bytes) whose names start with `prefix`,
    as Swift lists them to the account's owner; [] for no container."""
    token = service_token(stack)
    answer = requests.get(f"{storage_url(stack, token)}/{container}",
                          params={"format": "json", "prefix": prefix},
                          headers={"X-Auth-Token": token}, timeout=30)
    if answer.status_code == 404:
        return []
    assert answer.status_code == 200, answer.text
    return answer.json()
