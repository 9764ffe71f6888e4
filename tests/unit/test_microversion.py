"""shared/microversion.py: reading the version headers as Nova and Cinder
do (in a Flask request context, without a server), and the checks of a
server's description and tags (computed/domain/server_fields.py)."""
from __future__ import annotations

import pytest
from flask import Flask

from computed.domain.server_fields import InvalidField, check_description, check_tags
from shared.errors import ApiError
from shared.microversion import Microversions

COMPUTE = Microversions("compute", (2, 1), (2, 38), default=(2, 1),
                        legacy_header="X-OpenStack-Nova-API-Version")
VOLUME = Microversions("volume", (3, 0), (3, 44), default=(3, 0))
app = Flask(__name__)


def parsed(spec: Microversions, headers: dict) -> tuple[int, int]:
    with app.test_request_context(headers=headers):
        return spec.parse()


@pytest.mark.parametrize("headers, version", [
    ({}, (2, 1)),
    ({"OpenStack-API-Version": "compute 2.26"}, (2, 26)),
    ({"OpenStack-API-Version": "compute latest"}, (2, 38)),
    ({"OpenStack-API-Version": "COMPUTE LATEST"}, (2, 38)),
    ({"X-OpenStack-Nova-API-Version": "2.9"}, (2, 9)),
    ({"OpenStack-API-Version": "compute 2.19", "X-OpenStack-Nova-API-Version": "2.9"}, (2, 19)),
    ({"OpenStack-API-Version": "volume 3.5, compute 2.33"}, (2, 33)),
    ({"OpenStack-API-Version": "volume 3.5"}, (2, 1)),
])
def test_compute_headers(headers, version):
    assert parsed(COMPUTE, headers) == version


def test_the_legacy_header_is_nova_s_only():
    assert parsed(VOLUME, {"X-OpenStack-Nova-API-Version": "3.5"}) == (3, 0)
    assert parsed(VOLUME, {"OpenStack-API-Version": "volume 3.27"}) == (3, 27)


@pytest.mark.parametrize("text, status", [("2.39", 406), ("2.0", 406), ("3.1", 406),
                                          ("2.x", 400), ("2.01", 400), ("2", 400)])
def test_refused(text, status):
    with pytest.raises(ApiError) as caught:
        parsed(COMPUTE, {"OpenStack-API-Version": f"compute {text}"})
    assert caught.value.status == status
    if status == 406:
        assert str(caught.value).endswith("Minimum is 2.1 and maximum is 2.38.")


def test_response_headers():
    with app.test_request_context(headers={"OpenStack-API-Version": "compute 2.9"}):
        COMPUTE.start_request()
        response = COMPUTE.add_headers(app.response_class())
    assert response.headers["OpenStack-API-Version"] == "compute 2.9"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.9"
    assert response.headers.getlist("Vary") == ["OpenStack-API-Version",
                                                "X-OpenStack-Nova-API-Version"]


def test_description_and_tags():
    assert check_description(None) is None and check_description("lab") == "lab"
    for bad in ("x" * 256, 3, "bell\a"):
        with pytest.raises(InvalidField):
            check_description(bad)
    assert check_tags({"tags": ["a", "b"]}) == ["a", "b"]
    for bad in ({"tags": ["a/b"]}, {"tags": ["a,b"]}, {"tags": [""]}, {"tags": ["x" * 61]},
                {"tags": [str(i) for i in range(51)]}, {"tag": []}, {"tags": "a"}):
        with pytest.raises(InvalidField):
            check_tags(bad)
