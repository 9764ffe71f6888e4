"""A network namespace standing in for a guest's NIC, without a VM.

libvirt makes a guest's tap in the machine's namespace under the name
shared.netnames.tap_name(port id); networkd's data plane finds it there,
moves it into the stack's namespace and plugs it into its network's
bridge. A veth pair whose machine end carries that name is plugged the same
way, and its other end, `eth0` in a namespace of the test's own, then
behaves as the guest's NIC: it gets the port's lease from dnsmasq, passes
the anti-spoofing and security-group rules, and reaches 169.254.169.254.

    GuestNamespace(name, tap, mac, scratch)   the namespace and the veth pair
    guest.dhcp(extra=("staticroutes",))       a lease, applied as the tiny
                                              image applies it (address,
                                              default route, option 121 routes)
    guest.http(url, headers)                  an HTTP request from the guest
    plugged_guest(admin, network_id, ...)     on a real stack: a port made for
                                              it (device_owner compute:nova),
                                              waited for until networkd plugs it

tests/dataplane/world.py builds its guests on this class. Everything goes
in close() (deleting the namespace takes its eth0 and the veth's other end
along, wherever that end was moved).
"""
from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from shared.netnames import tap_name

NETNS_ETC = Path("/etc/netns")

# udhcpc's hook (busybox udhcpc -s): configure eth0 as the tiny image's
# /etc/udhcpc.script does (labs/tinyimage/udhcpc.sh: address, default route
# through the first router, classless static routes), and write down what
# was offered for the test to read.
UDHCPC_SCRIPT = textwrap.dedent("""\
    #!/bin/sh
    case "$1" in
      deconfig) ip addr flush dev "$interface" ;;
      bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/$mask" dev "$interface"
        if [ -n "$router" ]; then ip route replace default via "${router%% *}"; fi
        set -- $staticroutes
        while [ $# -ge 2 ]; do
          if [ "$2" = "0.0.0.0" ]; then ip route replace "$1" dev "$interface"
          else ip route replace "$1" via "$2" dev "$interface"; fi
          shift 2
        done
        for key in ip mask router dns staticroutes; do
          eval "echo $key=\\$$key"
        done > "$LEASE_FILE" ;;
    esac
    """)

# Run by the guest's Python: one HTTP request, its answer as JSON on stdout.
HTTP_REQUEST = textwrap.dedent("""\
    import json, sys, urllib.error, urllib.request
    url, method, headers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=float(sys.argv[4])) as answer:
            status, kind, body = answer.status, answer.headers.get("Content-Type"), answer.read()
    except urllib.error.HTTPError as error:
        status, kind, body = error.code, error.headers.get("Content-Type"), error.read()
    print(json.dumps({"status": status, "content_type": kind,
                      "body": body.decode("utf-8", "replace")}))
    """)


def run(*argv: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {result.stderr or result.stdout}")
    return result


class GuestNamespace:
    """Namespace `name` whose `eth0` (MAC `mac`) is the peer of `tap` in the
    machine's namespace. `scratch` holds the udhcpc hook and lease files.

    The guest has no DNS server: commands run in it see an empty
    resolv.conf (`ip netns exec` mounts /etc/netns/<name>/resolv.conf over
    the machine's), so a name lookup fails at once instead of waiting for
    the machine's servers, which the guest cannot reach."""

    def __init__(self, name: str, tap: str, mac: str, scratch: Path):
        self.name = name
        self.tap = tap
        self.mac = mac
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.etc = NETNS_ETC / name
        run("ip", "netns", "add", name)
        try:
            self.etc.mkdir(parents=True, exist_ok=True)
            (self.etc / "resolv.conf").write_text("")
            run("ip", "link", "add", tap, "type", "veth", "peer", "name", "eth0",
                "netns", name)
            run("ip", "link", "set", tap, "up")   # as libvirt leaves a tap it has set up
            self.sh("ip", "link", "set", "lo", "up")
            self.sh("ip", "link", "set", "eth0", "address", mac)
            self.sh("ip", "link", "set", "eth0", "up")
        except BaseException:
            self.close()
            raise

    def sh(self, *argv: str, timeout: float = 30, check: bool = True):
        """Run a command inside the guest's namespace."""
        return run("ip", "netns", "exec", self.name, *argv, timeout=timeout, check=check)

    def dhcp(self, tries: int = 3, extra: tuple[str, ...] = ()) -> dict[str, str] | None:
        """Ask for a lease like the tiny image does (busybox udhcpc; `extra`
        options requested too, e.g. "staticroutes" for option 121) and apply
        it; the lease's ip, mask and router (and the `extra` options), or
        None when nobody answered."""
        script = self.scratch / f"{self.name}-udhcpc.sh"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        lease = self.scratch / f"{self.name}.lease"
        lease.unlink(missing_ok=True)
        requests = [arg for option in extra for arg in ("-O", option)]
        result = self.sh("env", f"LEASE_FILE={lease}", "busybox", "udhcpc", "-i", "eth0", "-q",
                         "-n", "-f", "-s", str(script), "-t", str(tries), "-T", "1", *requests,
                         check=False, timeout=30)
        if result.returncode != 0 or not lease.exists():
            return None
        fields = dict(line.split("=", 1) for line in lease.read_text().splitlines())
        return {key: value for key, value in fields.items()
                if key in ("ip", "mask", "router", *extra)}

    def route_to(self, address: str) -> str:
        """`ip route get` inside the guest: which way `address` goes."""
        return self.sh("ip", "-4", "route", "get", address).stdout

    def http(self, url: str, method: str = "GET", headers: dict[str, str] | None = None,
             timeout: float = 10) -> dict:
        """One HTTP request from inside the guest: {"status", "content_type",
        "body"} (an error status is an answer too; no answer raises)."""
        result = self.sh(sys.executable, "-c", HTTP_REQUEST, url, method,
                         json.dumps(headers or {}), str(timeout), timeout=timeout + 10)
        return json.loads(result.stdout)

    def close(self) -> None:
        """Remove the namespace (its eth0, and so the veth's other end, go
        with it) and the tap if it never left the machine's namespace."""
        run("ip", "netns", "del", self.name, check=False)
        run("ip", "link", "del", self.tap, check=False)
        shutil.rmtree(self.etc, ignore_errors=True)


def plugged_guest(admin, network_id: str, scratch: Path, timeout: float = 60,
                  **port_fields) -> tuple[GuestNamespace, dict]:
    """On a real stack: a port on `network_id` made by `admin` (a
    tests.support.network.Networking of an admin, which deletes it at its
    cleanup) with device_owner compute:nova unless `port_fields` say
    otherwise, and a guest namespace on its tap, once networkd's agent
    plugged it (the port ACTIVE). Returns the guest and the port."""
    fields = {"device_owner": "compute:nova", **port_fields}
    port = admin.create("port", network_id=network_id, **fields)
    guest = GuestNamespace(f"psguest-{secrets.token_hex(4)}", tap_name(port["id"]),
                           port["mac_address"], scratch)
    try:
        deadline = time.monotonic() + timeout
        while admin.show("port", port["id"])["status"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise AssertionError(f"networkd did not plug {guest.tap} within {timeout} s")
            time.sleep(0.2)
    except BaseException:
        with contextlib.suppress(Exception):
            guest.close()
        raise
    return guest, port
