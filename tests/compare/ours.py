"""PocketStack's side: a test stack (tests/stack.py) whose imaged has the same
stores as the real Glance (file `fs` weight 100, file `fs2` weight 50, http
`web`), multiple locations and the image cache on, as Glance's config has."""
from __future__ import annotations

from pathlib import Path

from tests.stack import Stack, port_offset_for


def imaged_conf(stack: Stack, imaged_password: str) -> str:
    lib = stack.state_dir / "lib"
    return "\n".join([
        "[api]", f"bind_port = {stack.port('imaged')}", "workers = 1", "",
        "[auth]", f"identity_url = http://127.0.0.1:{stack.port('identity')}", "",
        "[service_auth]", f"password = {imaged_password}", "",
        "[image]", "show_multiple_locations = true", "show_image_direct_url = true", "",
        # Glance converts imports only with its image_conversion plugin, off by default.
        "[import]", "image_conversion = false", "",
        "[store]", "enabled_backends = fs:file, fs2:file, web:http", "default_backend = fs", "",
        "[store:fs]", f"filesystem_store_datadir = {lib / 'images-fs'}", "weight = 100", "",
        "[store:fs2]", f"filesystem_store_datadir = {lib / 'images-fs2'}", "weight = 50", "",
        "[store:web]", "weight = 10", ""])


def start(state_dir: Path) -> Stack:
    """`pocketstack up` in state_dir, its imaged config written before the
    first start (the files are only generated when missing)."""
    from identity.bootstrap import Credentials
    etc = state_dir / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    # A slot of its own (the 8th worker's), apart from a pytest run beside it.
    stack = Stack(state_dir, port_offset_for("gw7"))
    credentials = Credentials.load_or_create(etc / "credentials")
    conf = etc / "imaged-api.conf"
    if not conf.exists():
        conf.write_text(imaged_conf(stack, credentials.passwords["imaged"]))
    result = stack.up()
    if result.returncode != 0:
        # Only identity and imaged are compared: another service that fails to
        # start is reported, not fatal.
        import requests
        for service in ("identity", "imaged"):
            try:
                requests.get(stack.url(service) + "/", timeout=10)
            except requests.RequestException as exc:
                raise RuntimeError("pocketstack up failed:\n" + result.stdout
                                   + result.stderr) from exc
        print("warning: pocketstack up: " + (result.stdout + result.stderr).strip()[-500:])
    return stack


def remove_own_images(side) -> None:
    """The images `pocketstack up` registered (the tiny test image): the real
    Glance starts with none."""
    import requests
    listing = requests.get(side.image_url + "/v2/images", headers=side.headers("admin"),
                           timeout=30).json()["images"]
    for image in listing:
        requests.delete(f"{side.image_url}/v2/images/{image['id']}",
                        headers=side.headers("admin"), timeout=30)
