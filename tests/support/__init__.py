"""Helpers the test modules import: small clients of the services' APIs,
waits, test data and looks at the host. No fixtures here (those live in the
conftest.py files) and no tests (pytest collects only test_*.py)."""
