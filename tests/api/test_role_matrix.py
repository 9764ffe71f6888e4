"""Every route of every API service against every kind of caller: admin,
member, reader, a member of another project, no token, an expired token and
a revoked one. The routes are read from the code (tests/support/rolematrix/
routes.py), so a new route fails this test until it has a case; the
expected answers come from the services' policy defaults and OpenStack's
documented behaviour (tests/support/rolematrix/model.py), never from what
the services answer today. The table of results (route x caller: status,
`!got/expected` on a mismatch, `LEAK` on a leak) and the counts are printed
at the end of the run and written to role-matrix.txt in the test's
temporary directory. The dashboard is not in it: it takes no token (browser
sessions), and tests/dashboard covers its refusals."""
from __future__ import annotations

import json

import pytest

from computed.policies import RULES as COMPUTE_RULES
from identity.policies import RULES as IDENTITY_RULES
from imaged.metadefs.policies import RULES as METADEF_RULES
from imaged.policies import RULES as IMAGE_RULES
from networkd.policies import RULES as NETWORK_RULES
from shared.events_api import EVENT_RULES
from tests.support.rolematrix import (
    cases_compute,
    cases_identity,
    cases_image,
    cases_network,
    cases_volume,
)
from tests.support.rolematrix.model import Policies
from tests.support.rolematrix.routes import all_routes
from tests.support.rolematrix.runner import run
from tests.support.rolematrix.world import World
from volumed.policies import RULES as VOLUME_RULES

CASES = (cases_identity.CASES + cases_image.CASES + cases_volume.CASES
         + cases_compute.CASES + cases_network.CASES)
POLICY_DEFAULTS = {
    "identity": IDENTITY_RULES + EVENT_RULES,
    "imaged": IMAGE_RULES + METADEF_RULES + EVENT_RULES,
    "volumed": VOLUME_RULES + EVENT_RULES,
    "computed": COMPUTE_RULES + EVENT_RULES,
    "networkd": NETWORK_RULES + EVENT_RULES,
}


def test_every_route_has_a_case():
    """Fails on a route no case calls, and on a case whose route is not
    served (renamed or removed)."""
    served = {(service, route) for service, routes in all_routes().items()
              for route in routes}
    covered = {(case.service, case.route) for case in CASES}
    assert sorted(served - covered) == [], "routes without a case"
    assert sorted(covered - served) == [], "cases of routes not served"


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    built = World(stack)
    built.policies = Policies(POLICY_DEFAULTS, tmp_path_factory.mktemp("policies"))
    built.build()
    yield built
    built.cleanup()


def test_role_matrix(world, tmp_path, record_property):
    matrix = run(world, CASES, world.policies)
    summary = matrix.summary()
    report = f"{matrix.table()}\n\n{json.dumps(summary)}\n"
    (tmp_path / "role-matrix.txt").write_text(report)
    record_property("printed_report", report)   # printed at the end of the run (conftest.py)
    problems = [f"{r.case.service} {r.case.name} as {r.caller}: {r.status}, expected "
                f"{'/'.join(map(str, r.expected))}"
                f"{' (LEAK: ' + r.leak + ')' if r.leak else ''}: {r.body[:160]}"
                for r in matrix.leaks + matrix.mismatches]
    assert not problems, f"{summary}\n" + "\n".join(problems)
