"""The layering of the code, checked by walking every import (ast).

- shared/ is a library: it imports no other package of the project.
- A service (identity, imaged, computed, volumed, networkd) imports shared/
  and itself, never another service's internals: it talks to the others over
  their REST APIs.
- labs/ (teaching material, the tiny image builder) imports shared/ at most.
- dashboard/ (the web dashboard) imports shared/ only: it acts through the
  services' public APIs, like a browser's user would.
- pocketstack/ (the command) is the composition root: the only package that
  imports every service, and nothing imports it.
- Inside a service, the HTTP layer (its `api/` package, and the app or
  server module that wires it) calls the domain and the flows; no other
  module imports the HTTP layer or Flask.
- The composition root treats services as data: no `service.name == "..."`.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = {"identity", "imaged", "computed", "volumed", "networkd"}
LIBRARIES = {"shared"}
COMPOSITION_ROOT = "pocketstack"
TEACHING = "labs"
DASHBOARD = "dashboard"
PROJECT = SERVICES | LIBRARIES | {COMPOSITION_ROOT, TEACHING, DASHBOARD}
HTTP_PACKAGE = "api"                 # <service>.api.*, identity.api.*, ...
WIRING_MODULES = {"app", "server"}   # the module that builds the WSGI app
WEB_FRAMEWORKS = {"flask", "werkzeug"}


@dataclass(frozen=True)
class Edge:
    source: str      # dotted module that imports
    target: str      # dotted module imported
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path, path: Path) -> list[Edge]:
    """Every module `path` imports (absolute, or relative resolved)."""
    source = module_name(root, path)
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    edges = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            edges += [Edge(source, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            edges.append(Edge(source, target, node.lineno))
            # `from pkg import module` imports pkg.module when that is a module
            edges += [Edge(source, f"{target}.{alias.name}", node.lineno)
                      for alias in node.names
                      if (root / Path(*target.split("."), alias.name)).exists()
                      or (root / Path(*target.split("."), f"{alias.name}.py")).exists()]
    return edges


def is_http_layer(module: str) -> bool:
    """The service's api/ package (api is the second part: imaged.api.images,
    not imaged.metadefs.api), or a module that wires the app."""
    parts = module.split(".")
    return (len(parts) > 1 and parts[1] == HTTP_PACKAGE) or parts[-1] in WIRING_MODULES


def broken_rule(edge: Edge) -> str | None:
    """Which rule the edge breaks, or None."""
    source_top, target_top = edge.source.split(".")[0], edge.target.split(".")[0]
    if target_top == COMPOSITION_ROOT and source_top != COMPOSITION_ROOT:
        return "nothing imports the composition root"
    if source_top in LIBRARIES and target_top in PROJECT - LIBRARIES:
        return "shared/ is a library and imports no service"
    if source_top == TEACHING and target_top in PROJECT - LIBRARIES - {TEACHING}:
        return "labs/ imports shared/ at most"
    if source_top == DASHBOARD and target_top in PROJECT - LIBRARIES - {DASHBOARD}:
        return "the dashboard imports shared/ only"
    if source_top in SERVICES:
        if target_top in PROJECT - LIBRARIES - {source_top}:
            return "a service imports shared/ and itself only"
        if not is_http_layer(edge.source):
            if target_top == source_top and is_http_layer(edge.target):
                return "only the HTTP layer imports the HTTP layer"
            if target_top in WEB_FRAMEWORKS:
                return "only the HTTP layer imports the web framework"
    return None


def violations(root: Path) -> list[str]:
    found = []
    for top in sorted(PROJECT):
        for path in sorted((root / top).rglob("*.py")) if (root / top).is_dir() else []:
            for edge in imports_of(root, path):
                rule = broken_rule(edge)
                if rule:
                    found.append(f"{edge}: {rule}")
    return found


def name_branches(root: Path) -> list[str]:
    """`x.name == "identity"`-style comparisons in the composition root."""
    found = []
    for path in sorted((root / COMPOSITION_ROOT).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) \
                    and node.left.attr == "name" \
                    and any(isinstance(c, ast.Constant) and isinstance(c.value, str)
                            for c in node.comparators):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_the_project_keeps_its_layering():
    assert violations(REPO) == []


def test_the_composition_root_treats_services_as_data():
    assert name_branches(REPO) == []


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def small_tree(root: Path) -> None:
    for package in ("shared", "imaged", "imaged/api", "imaged/domain", "computed",
                    "pocketstack"):
        write(root, f"{package}/__init__.py", "")
    write(root, "shared/units.py", "GiB = 1 << 30\n")
    write(root, "imaged/api/images.py", "import flask\nfrom imaged.domain import rules\n")
    write(root, "imaged/domain/rules.py", "from shared.units import GiB\n")
    write(root, "pocketstack/main.py", "import imaged.api.images\nimport computed\n")


def test_a_clean_tree_has_no_violation(tmp_path):
    small_tree(tmp_path)
    assert violations(tmp_path) == []


def test_each_forbidden_import_is_reported(tmp_path):
    small_tree(tmp_path)
    write(tmp_path, "shared/cli.py", "from imaged.domain import rules\n")
    write(tmp_path, "computed/cache.py", "from imaged.domain.rules import x\n")
    write(tmp_path, "imaged/domain/status.py", "from ..api import images\nimport flask\n")
    write(tmp_path, "imaged/upload.py", "from imaged.api.images import body\n")
    write(tmp_path, "computed/boot.py", "import pocketstack.main\n")
    write(tmp_path, "imaged/domain/api.py", "from imaged.api import images\n")
    write(tmp_path, "dashboard/views.py", "from computed.cache import x\n")
    found = violations(tmp_path)
    assert found == [
        "computed.boot:1 imports pocketstack.main: nothing imports the composition root",
        "computed.cache:1 imports imaged.domain.rules: "
        "a service imports shared/ and itself only",
        "dashboard.views:1 imports computed.cache: the dashboard imports shared/ only",
        "imaged.domain.api:1 imports imaged.api: "
        "only the HTTP layer imports the HTTP layer",
        "imaged.domain.api:1 imports imaged.api.images: "
        "only the HTTP layer imports the HTTP layer",
        "imaged.domain.status:1 imports imaged.api: "
        "only the HTTP layer imports the HTTP layer",
        "imaged.domain.status:1 imports imaged.api.images: "
        "only the HTTP layer imports the HTTP layer",
        "imaged.domain.status:2 imports flask: only the HTTP layer imports the web framework",
        "imaged.upload:1 imports imaged.api.images: "
        "only the HTTP layer imports the HTTP layer",
        "shared.cli:1 imports imaged.domain: shared/ is a library and imports no service",
        "shared.cli:1 imports imaged.domain.rules: "
        "shared/ is a library and imports no service",
    ]


def test_a_name_branch_in_the_composition_root_is_reported(tmp_path):
    small_tree(tmp_path)
    write(tmp_path, "pocketstack/up.py",
          "for service in []:\n    if service.name == 'computed':\n        pass\n")
    assert name_branches(tmp_path) == ["pocketstack/up.py:2"]
