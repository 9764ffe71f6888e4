"""A differential test of imaged and identity against the real Glance 33 and
Keystone 30 (`make compare`, `python -m tests.compare`).

    real.py       installs and runs the real services (.venv-openstack/, uWSGI)
    ours.py       a PocketStack test stack with the same image stores
    sides.py      the same users, projects and roles on both sides; a token per role
    fixtures.py   the same images and metadata definitions on both sides
    scenarios.py  the requests, as data (route, path, body, roles, fresh resource)
    runner.py     sends a scenario as a role to both sides
    normalise.py  ids, URLs, times and secrets become placeholders
    differ.py     where two normalised answers differ
    kept.py       the differences kept on purpose (imaged/ and identity/
                  compare-kept.toml), each with its reason
    report.py     prints the differences, the kept ones and the counts
    routes.py     our routes, from the blueprints, for the coverage line
"""
