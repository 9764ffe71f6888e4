"""shared/validation.py: a body is checked against its JSON schema, and a
body that breaks it is a 400 naming the field and why."""
from __future__ import annotations

import pytest

from identity import schemas as identity_schemas
from shared.errors import BadRequest
from shared.validation import checked
from volumed.api import schemas as volume_schemas


def test_a_body_that_matches_is_returned_as_it_is():
    body = {"user": {"name": "ann", "password": "s3cret", "extra": 1}}
    assert checked(body, identity_schemas.USER_CREATE) is body


@pytest.mark.parametrize("body, field", [
    ({"user": {"name": "ann", "password": 5}}, "user/password"),
    ({"user": {"name": ""}}, "user/name"),
    ({"user": {}}, "user"),
    ({}, "body"),
    ({"auth": {"identity": {"methods": ["password"], "password": 5}}},
     "auth/identity/password"),
])
def test_a_body_that_breaks_it_is_a_400_naming_the_field(body, field):
    schema = identity_schemas.AUTH if "auth" in body else identity_schemas.USER_CREATE
    with pytest.raises(BadRequest, match=f"Invalid input for field '{field}'"):
        checked(body, schema)


def test_volume_bodies_in_cinders_shapes():
    checked({"volume": {"size": 1, "volume_type": None, "metadata": {"k": "v"}}},
            volume_schemas.VOLUME_CREATE)
    with pytest.raises(BadRequest, match="volume/snapshot_id"):
        checked({"volume": {"size": 1, "snapshot_id": [1]}}, volume_schemas.VOLUME_CREATE)
    with pytest.raises(BadRequest, match="volume_type/extra_specs"):
        checked({"volume_type": {"name": "t", "extra_specs": {"k": 5}}},
                volume_schemas.TYPE_CREATE)
