"""Nova's and Cinder's schemas and samples, read from their unpacked source
distributions (tests/contract/sources.py).

Their schema modules are plain dict literals, but import a few names from the
rest of the service (a translation function, some limits and state names).
Those few imports are given here as small stand-in modules whose values are
read from the services' own files, so the schema modules load as they are
without importing Nova or Cinder (and their dozens of dependencies).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import sys
import types
from functools import cache
from pathlib import Path

import jsonschema


def _literals(path: Path, class_name: str | None = None) -> dict:
    """The NAME = <literal> assignments at the top of a module (or in one
    of its classes)."""
    tree = ast.parse(path.read_text())
    body = tree.body
    if class_name:
        body = next(node.body for node in tree.body
                    if isinstance(node, ast.ClassDef) and node.name == class_name)
    values = {}
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return values


def _module(name: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = []  # a package, so that submodules can be found under it
    module.__dict__.update(attributes)
    return module


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _StandIns:
    """Puts stand-in modules into sys.modules while the schema modules load,
    and takes every module it added out again afterwards."""

    def __init__(self, modules: dict[str, types.ModuleType]):
        self.modules = modules

    def __enter__(self):
        self.before = set(sys.modules)
        sys.modules.update(self.modules)
        return self

    def __exit__(self, *exc):
        for name in set(sys.modules) - self.before:
            del sys.modules[name]


class Nova:
    """Nova's API samples (doc/api_samples) and schemas (request and
    response, nova/api/openstack/compute/schemas)."""

    def __init__(self, tree: Path):
        self.tree = tree
        self.schemas = self._load_schemas()

    def _load_schemas(self) -> dict[str, types.ModuleType]:
        nova = self.tree / "nova"
        states = _literals(nova / "objects/fields.py", "InstanceState")
        vm_states = {}
        for node in ast.parse((nova / "compute/vm_states.py").read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute):
                vm_states[node.targets[0].id] = states[node.value.attr]
        stand_ins = {
            "nova": _module("nova"), "nova.api": _module("nova.api"),
            "nova.api.openstack": _module("nova.api.openstack"),
            "nova.api.openstack.compute": _module("nova.api.openstack.compute"),
            "nova.api.openstack.compute.schemas":
                _module("nova.api.openstack.compute.schemas"),
            "nova.api.validation": _module("nova.api.validation"),
            "nova.i18n": _module("nova.i18n", _=lambda text: text),
            "nova.objects": _module("nova.objects"),
            "nova.objects.tag": _module("nova.objects.tag", **_literals(nova / "objects/tag.py")),
            "nova.objects.instance": _module("nova.objects.instance",
                                             **_literals(nova / "objects/instance.py")),
            "nova.objects.external_event": _module(
                "nova.objects.external_event", **_literals(nova / "objects/external_event.py")),
            "nova.compute": _module("nova.compute"),
            "nova.compute.vm_states": _module("nova.compute.vm_states", **vm_states),
        }
        loaded = {}
        with _StandIns(stand_ins):
            for helper in ("parameter_types", "response_types"):
                module = _load(f"nova.api.validation.{helper}",
                               nova / f"api/validation/{helper}.py")
                setattr(stand_ins["nova.api.validation"], helper, module)
            package = stand_ins["nova.api.openstack.compute.schemas"]
            # quota_sets first: another schema module imports it.
            schema_dir = nova / "api/openstack/compute/schemas"
            files = sorted(schema_dir.glob("*.py"), key=lambda p: p.stem != "quota_sets")
            for path in files:
                if path.stem == "__init__":
                    continue
                module = _load(f"nova.api.openstack.compute.schemas.{path.stem}", path)
                setattr(package, path.stem, module)
                loaded[path.stem] = module
        return loaded

    def schema(self, dotted: str) -> dict:
        """A schema by module and name, e.g. "servers.show_response"."""
        module, name = dotted.split(".")
        return getattr(self.schemas[module], name)

    def sample(self, relative: str) -> dict:
        """An API sample, e.g. "servers/server-get-resp.json" (2.1) or
        "servers/v2.3/server-get-resp.json"."""
        return json.loads((self.tree / "doc/api_samples" / relative).read_text())

    def validator(self, schema: dict) -> jsonschema.protocols.Validator:
        """Nova validates with JSON Schema 2020-12 and format checks."""
        return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


class Cinder:
    """Cinder's API reference samples (api-ref/source/v3/samples, a v3.N
    directory from the version a shape changed) and request schemas
    (cinder/api/schemas)."""

    def __init__(self, tree: Path):
        self.tree = tree
        self.schemas = self._load_schemas()

    def _load_schemas(self) -> dict[str, types.ModuleType]:
        cinder = self.tree / "cinder"
        stand_ins = {
            "cinder": _module("cinder"), "cinder.api": _module("cinder.api"),
            "cinder.api.validation": _module("cinder.api.validation"),
            "cinder.common": _module("cinder.common"),
            "cinder.api.schemas": _module("cinder.api.schemas"),
        }
        loaded = {}
        with _StandIns(stand_ins):
            constants = _load("cinder.common.constants", cinder / "common/constants.py")
            stand_ins["cinder.common"].constants = constants
            types_module = _load("cinder.api.validation.parameter_types",
                                 cinder / "api/validation/parameter_types.py")
            stand_ins["cinder.api.validation"].parameter_types = types_module
            for path in sorted((cinder / "api/schemas").glob("*.py")):
                if path.stem != "__init__":
                    loaded[path.stem] = _load(f"cinder.api.schemas.{path.stem}", path)
        return loaded

    def schema(self, dotted: str) -> dict:
        module, name = dotted.split(".")
        return getattr(self.schemas[module], name)

    def sample(self, relative: str, version: tuple[int, int] = (3, 0)) -> dict:
        """The sample for this version: from the newest v3.N directory at or
        below it that holds the file, else the unversioned one."""
        base = self.tree / "api-ref/source/v3/samples"
        folder, _, name = relative.rpartition("/")
        folder_path = base / folder
        versions = sorted(
            (tuple(int(x) for x in entry.name[1:].split(".")), entry)
            for entry in folder_path.glob("v3.*") if (entry / name).is_file())
        chosen = folder_path / name
        for at, entry in versions:
            if at <= version:
                chosen = entry / name
        return json.loads(chosen.read_text())

    def validator(self, schema: dict) -> jsonschema.protocols.Validator:
        """Cinder validates with JSON Schema draft 4 and format checks."""
        return jsonschema.Draft4Validator(schema, format_checker=FORMATS)


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("uuid")
def _uuid(value) -> bool:
    import uuid
    if not isinstance(value, str):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@cache
def nova(tree: Path) -> Nova:
    return Nova(tree)


@cache
def cinder(tree: Path) -> Cinder:
    return Cinder(tree)
