"""Key pairs: imported as the current client sends them, generated when no
public key is given (2.1), per user, with the errors a user can make."""
from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.support.compute import unique


def public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " student@lab"


def md5_fingerprint(key: str) -> str:
    digest = hashlib.md5(base64.b64decode(key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def test_import_list_show_delete(demo):
    name, key = unique("kp"), public_key()
    created = demo.call("POST", "/os-keypairs", json={"keypair": {"name": name,
                                                                  "public_key": key}})
    assert created.status_code == 200, created.text
    body = created.json()["keypair"]
    assert body["name"] == name and body["public_key"] == key
    assert body["fingerprint"] == md5_fingerprint(key)
    assert "private_key" not in body
    listed = [k["keypair"] for k in demo.call("GET", "/os-keypairs").json()["keypairs"]]
    assert {"name": name, "public_key": key, "fingerprint": md5_fingerprint(key)} in listed
    shown = demo.call("GET", f"/os-keypairs/{name}").json()["keypair"]
    assert shown["user_id"] and shown["public_key"] == key
    assert demo.call("POST", "/os-keypairs", json={"keypair": {
        "name": name, "public_key": key}}).status_code == 409
    assert demo.call("DELETE", f"/os-keypairs/{name}").status_code == 202
    assert demo.call("GET", f"/os-keypairs/{name}").status_code == 404


def test_a_keypair_is_its_users_own(demo, admin):
    name = unique("mine")
    demo.call("POST", "/os-keypairs", json={"keypair": {"name": name,
                                                        "public_key": public_key()}})
    try:
        assert admin.call("GET", f"/os-keypairs/{name}").status_code == 404
        assert name not in str(admin.call("GET", "/os-keypairs").json())
    finally:
        demo.call("DELETE", f"/os-keypairs/{name}")


def test_without_a_public_key_one_is_generated_and_never_kept(demo):
    name = unique("gen")
    body = demo.call("POST", "/os-keypairs", json={"keypair": {"name": name}}).json()["keypair"]
    try:
        assert body["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert body["public_key"].startswith("ssh-rsa ")
        shown = demo.call("GET", f"/os-keypairs/{name}").json()["keypair"]
        assert "private_key" not in shown
    finally:
        demo.call("DELETE", f"/os-keypairs/{name}")


@pytest.mark.parametrize("keypair, words", [
    ({"name": "ok", "public_key": "ssh-rsa not-base64"}, "Keypair data is invalid"),
    ({"name": "", "public_key": "x"}, "name"),
    ({"name": "bad/name", "public_key": "x"}, "name"),
    ({"name": "x" * 256, "public_key": "x"}, "name"),
])
def test_bad_keypairs_are_400(demo, keypair, words):
    response = demo.call("POST", "/os-keypairs", json={"keypair": keypair})
    assert response.status_code == 400, response.text
    assert words in response.json()["badRequest"]["message"]


def test_the_real_client_imports_a_key(stack, tmp_path):
    key_file = tmp_path / "id.pub"
    key_file.write_text(public_key() + "\n")
    name = unique("cli")
    stack.openstack("keypair", "create", "--public-key", str(key_file), name)
    listed = stack.openstack("keypair", "list", "-f", "value", "-c", "Name").stdout
    assert name in listed.split()
    stack.openstack("keypair", "delete", name)
