"""What networkd's API tests share: a Networking client per user, fresh
projects, unique names and subnets that overlap nothing else in the stack
(every subnet of a stack must be unique: networkd runs Neutron's
allow_overlapping_ips = False), and Neutron's error body."""
from __future__ import annotations

import itertools
import uuid

import requests

from tests.support.network import Networking
from tests.support.volumes import new_project_user

# 10.<module>.<n>.0/24: each test module passes its own second octet.
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cidr(module_octet: int) -> str:
    """A /24 no other test of this stack uses: each module has its second
    octet, the third counts up (one stack per test worker)."""
    return f"10.{module_octet}.{next(_counter) % 250}.0/24"


def error(response: requests.Response, status: int) -> dict:
    """Neutron's {"NeutronError": {...}} of a refused request."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()["NeutronError"]
    assert set(body) == {"type", "message", "detail"}, body
    return body


def fresh_networking(stack) -> Networking:
    """A member of a new project, for counts (quotas) no other test shares."""
    project, user, password = new_project_user(stack)
    response = stack.login(user, project, password)
    assert response.status_code == 201, response.text
    client = Networking(stack, token=response.headers["X-Subject-Token"])
    client.project_id = response.json()["token"]["project"]["id"]
    return client


def project_id_of(stack, token: str) -> str:
    response = requests.get(f"{stack.url('identity')}/v3/auth/tokens",
                            headers={"X-Auth-Token": token, "X-Subject-Token": token},
                            timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["token"]["project"]["id"]


