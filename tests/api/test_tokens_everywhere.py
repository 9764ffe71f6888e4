"""Every API service of the stack refuses a missing, forged, expired or
revoked token with 401 in its own error format, and accepts a valid one.
Each service serves its events at /pocketstack/v1/events, behind auth."""
from __future__ import annotations

import time

import pytest
import requests

from pocketstack.services import token_api_services
from shared.paths import StateLayout
from shared.tokens import KeyRepository, TokenCodec, TokenData
from tests.support.revocation import wait_out_revocation_cache

EVENTS = "/pocketstack/v1/events"


API_SERVICES = [service.name for service in token_api_services()]


def service_url(stack, name: str) -> str:
    return stack.url(name)


@pytest.fixture(scope="module")
def revoked_token(stack):
    token = stack.token("demo")
    for service in API_SERVICES:  # each service has seen the token valid once
        requests.get(service_url(stack, service) + EVENTS, headers={"X-Auth-Token": token})
    response = requests.delete(stack.url("identity") + "/v3/auth/tokens",
                               headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert response.status_code == 204
    wait_out_revocation_cache()
    return token


@pytest.fixture(scope="module")
def expired_token(stack):
    codec = TokenCodec(KeyRepository(StateLayout(stack.state_dir).fernet_keys))
    valid = stack.login("demo").json()["token"]
    return codec.encode(TokenData(
        user_id=valid["user"]["id"], user_name="demo", project_id=valid["project"]["id"],
        project_name="demo", roles=["member", "reader"], expires_at=time.time() - 5,
        issued_at=time.time() - 3600))


@pytest.mark.parametrize("service", API_SERVICES)
def test_valid_token_is_accepted(stack, service):
    response = requests.get(service_url(stack, service) + EVENTS,
                            headers={"X-Auth-Token": stack.token("demo")})
    assert response.status_code == 200
    assert "events" in response.json()


@pytest.mark.parametrize("service", API_SERVICES)
def test_bad_tokens_are_refused(stack, service, revoked_token, expired_token):
    url = service_url(stack, service) + EVENTS
    cases = {"missing": None, "forged": "gAAAAABforged-token", "expired": expired_token,
             "revoked": revoked_token}
    for case, token in cases.items():
        headers = {"X-Auth-Token": token} if token else {}
        response = requests.get(url, headers=headers)
        assert response.status_code == 401, (service, case)
        assert response.headers["x-openstack-request-id"].startswith("req-")
        assert "requires authentication" in response.text, (service, case)
