"""Running a command inside the stack's network namespace.

nft, conntrack, sysctl and dnsmasq act on the network namespace of the
process that runs them, so each runs under `ip netns exec <namespace>`
(a child process: networkd's own threads never switch namespace). A
failure becomes a DataPlaneError naming the command and what it printed.
"""
from __future__ import annotations

import subprocess

from networkd.dataplane.contract import DataPlaneError


def run(namespace: str | None, argv: list[str], *, stdin: str | None = None,
        check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run `argv` in `namespace` (None: the machine's own namespace) and
    return its result. With `check`, a non-zero exit raises DataPlaneError."""
    command = argv if namespace is None else ["ip", "netns", "exec", namespace, *argv]
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, text=True,
                                timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DataPlaneError(f"{argv[0]} in namespace {namespace}: {error}") from error
    if check and result.returncode != 0:
        said = (result.stderr or result.stdout).strip()
        raise DataPlaneError(f"{' '.join(argv[:3])} in namespace {namespace} failed "
                             f"(exit {result.returncode}): {said}")
    return result
