"""The metadata proxy: how a guest reaches computed's metadata service.

    guest --GET http://169.254.169.254/...--> the stack's namespace
        (the address is on its `lo`; each DHCP subnet routes it via its DHCP
        port address: networkd.dataplane)
    listener.py   a threaded HTTP server on 169.254.169.254:80, its socket
                  made inside the namespace; listens again when the
                  namespace was made anew (checked at each agent pass)
    proxy.py      the request: source address -> instance (instances.py),
                  then the same path to computed's metadata service with
                  X-Instance-ID, X-Tenant-ID, X-Instance-ID-Signature and
                  X-Forwarded-For (shared/metadata_proxy.py); the answer's
                  status, Content-Type and body go back to the guest
    instances.py  which server a source address is: the compute port
                  holding that fixed IP (networkd's own database)

Neutron splits this between haproxy in each network's namespace and the
metadata agent behind a UNIX socket; here one thread of networkd's worker
does both, as only networkd knows which port holds which address.
"""
