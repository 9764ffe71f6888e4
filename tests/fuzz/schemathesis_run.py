"""Schemathesis against every API of a live stack, from each service's own
OpenAPI document (GET /openapi.json, shared/openapi.py).

For each service, Schemathesis generates valid and invalid requests for every
operation (its coverage and fuzzing phases) and checks each answer:
no 5xx, the status and content type the document allows, and a body that
matches the document's schema (every error in the API's own error format).
The admin token reaches Schemathesis through the environment, never argv.
The stateful phase is off: it feeds ids from one answer into the next call,
and so deletes, as admin, the very project its token is scoped to.

POST /v2.1/servers is fuzzed too, but never boots a guest: the stack's
computed has a quota of 0 instances (computed.conf [quota] instances = 0),
so a body that passes every check (its schema, the flavor, the image, the
networks) ends in 403 over quota, and nothing is recorded; a hook
(hooks.py) gives most generated bodies a real flavor and image, so that they
get that far. On a stack with any other quota that operation is left out.
No server exists during the run, so a server's actions and sub-resources
are reached with ids that are not there (their bodies are still checked
against their schemas first).

    python -m tests.fuzz.schemathesis_run --state-dir DIR [--port-offset N]

runs it against a running stack and prints the counts.
"""
from __future__ import annotations

import argparse
import configparser
import glob
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.fuzz import hooks

REPO = Path(__file__).resolve().parents[2]
# computed before imaged and networkd: Schemathesis reuses the ids it reads
# in answers, so imaged's run deletes the tiny image the hook gives POST
# /servers, and networkd's makes networks in the admin's project (a server
# that names none then stops at "Multiple possible networks found", 409);
# either keeps those bodies from the quota they should reach.
SERVICES = ("identity", "computed", "imaged", "volumed", "networkd")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
TOKEN_VARIABLE = "POCKETSTACK_FUZZ_TOKEN"
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")
# (method, path) never sent where servers may boot (see servers_may_boot).
BOOTS_SERVERS = {"computed": [("POST", "/v2.1/servers")]}
# Path parameters given a real value: volumed's URLs carry the caller's
# project, and any other project id stops every request at the first check.
PROJECT_PATHS = {"volumed": "/v3/{project_id}/"}


@dataclass
class Result:
    service: str
    operations: int = 0
    tested: int = 0
    cases: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    exit_code: int = 0
    seconds: float = 0.0
    output: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures and not self.errors and self.exit_code == 0

    def line(self) -> str:
        failures = ", ".join(f"{k}: {v}" for k, v in sorted(self.failures.items())) or "none"
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none"
        return (f"{self.service:9} operations {self.tested}/{self.operations}  "
                f"test cases {self.cases}  failures: {failures}  errors: {errors}  "
                f"({self.seconds:.0f} s)")


def servers_may_boot(state_dir: Path) -> bool:
    """Whether POST /servers could boot a guest on this stack: unless its
    computed.conf sets [quota] instances = 0."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(state_dir / "etc" / "computed.conf")
    return parser.get("quota", "instances", fallback="").strip() != "0"


def config_text(service: str, project_id: str, max_examples: int,
                excluded: dict[str, list[tuple[str, str]]]) -> str:
    """The schemathesis.toml of one service's run."""
    lines = [
        f'headers = {{ "X-Auth-Token" = "${{{TOKEN_VARIABLE}}}", '
        f'"Accept" = "application/json" }}',
        'hooks = "tests.fuzz.hooks"',
        "workers = 1",
        "seed = 16",
        "[phases]",
        "stateful.enabled = false",
        "[generation]",
        f"max-examples = {max_examples}",
        "database = \"none\"",
        "[checks]",
        "enabled = false",
        *(f"{check}.enabled = true" for check in CHECKS),
    ]
    for method, path in excluded.get(service, []):
        lines += ["[[operations]]", f'include-method = "{method}"',
                  f'include-path = "{path}"', "enabled = false"]
    if service in PROJECT_PATHS:
        lines += ["[[operations]]",
                  f'include-path-regex = "^{PROJECT_PATHS[service].replace("{", "[{]")}"',
                  "[operations.parameters]", f'"path.project_id" = "{project_id}"']
    return "\n".join(lines) + "\n"


def run(service: str, url: str, token: str, project_id: str, workdir: Path,
        max_examples: int = 20, timeout: float = 1800,
        servers_boot: bool = True, hook_ids: dict[str, str] | None = None) -> Result:
    """One service's run; its output and JSON report stay in workdir.
    `servers_boot`: leave POST /servers out (see servers_may_boot);
    `hook_ids`: what real_flavor_and_image found, for the hook."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "schemathesis.toml"
    config.write_text(config_text(service, project_id, max_examples,
                                  BOOTS_SERVERS if servers_boot else {}))
    reports = workdir / "reports"
    env = {**os.environ, TOKEN_VARIABLE: token, "PYTHONPATH": str(REPO)}
    env.update(hook_ids or {})
    completed = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(config), "run", f"{url}/openapi.json",
         "--no-color", "--report", "json", "--report-dir", str(reports)],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=workdir)
    (workdir / "output.txt").write_text(completed.stdout + completed.stderr)
    result = Result(service, exit_code=completed.returncode,
                    output=completed.stdout + completed.stderr)
    found = sorted(glob.glob(str(reports / "json-*.json")))
    if not found:
        result.errors["no report"] = 1
        return result
    report = json.loads(Path(found[-1]).read_text())
    result.operations = report["operations"]["selected"]
    result.tested = report["operations"]["tested"]
    result.cases = report["test_cases"]["generated"]
    result.seconds = report["running_time"]
    for failure in report["failures"]:
        kind = failure.get("title") or failure.get("check") or "failure"
        result.failures[kind] = result.failures.get(kind, 0) + failure.get("count", 1)
    for error in report["errors"]:
        result.errors[error["title"]] = result.errors.get(error["title"], 0) + error["count"]
    return result


def real_flavor_and_image(url: str, token: str) -> dict[str, str]:
    """The hook's ids (hooks.py): the smallest flavor and the tiny image,
    read from computed (its image proxy) before any run (imaged's run makes
    images by the hundred)."""
    headers = {"X-Auth-Token": token}
    flavors = requests.get(f"{url}/v2.1/flavors/detail", headers=headers, timeout=30)
    images = requests.get(f"{url}/v2.1/images", headers=headers, timeout=30)
    flavors.raise_for_status()
    images.raise_for_status()
    smallest = min(flavors.json()["flavors"], key=lambda f: (f["ram"], f["disk"]))
    tiny = next(i for i in images.json()["images"] if i["name"] == "pocketstack-tiny")
    return {hooks.FLAVOR_VARIABLE: smallest["id"], hooks.IMAGE_VARIABLE: tiny["id"]}


def main(argv: list[str] | None = None) -> int:
    from tests.stack import Stack
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("schemathesis-runs"))
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("services", nargs="*", default=list(SERVICES))
    args = parser.parse_args(argv)
    stack = Stack(args.state_dir, args.port_offset)
    login = stack.login("admin")
    token = login.headers["X-Subject-Token"]
    project_id = login.json()["token"]["project"]["id"]
    servers_boot = servers_may_boot(args.state_dir)
    if servers_boot:
        print("POST /v2.1/servers left out: computed.conf does not set "
              "[quota] instances = 0")
    hook_ids = {} if servers_boot else real_flavor_and_image(stack.url("computed"), token)
    results = [run(service, stack.url(service), token, project_id, args.workdir / service,
                   args.max_examples, servers_boot=servers_boot, hook_ids=hook_ids)
               for service in args.services]
    for result in results:
        print(result.line())
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
