"""The role matrix: every route of every API service, called as every kind
of caller, each answer compared with what the services' policy defaults and
OpenStack's documented behaviour say it must be (tests/api/test_role_matrix.py).

    model.py     callers, cases, and the expected answer of a case for a caller
    routes.py    the routes each service serves, read from its blueprints
    world.py     the callers' projects, users and tokens, and the resources aimed at
    cases_*.py   one module of cases per service
    runner.py    the calls, the comparison, the printed table
"""
