"""The metadata service: what a guest learns about itself from
http://169.254.169.254/, as Nova's metadata API (nova/api/metadata/) serves it.

    guest --> networkd's metadata proxy (in the stack's namespace: it knows
              the guest by its source address and signs the server's id)
          --> this service, on [metadata] bind_host:bind_port (127.0.0.1:8775)

    facts.py          the plain values the documents are made of
    gather.py         those values, from computed's database and networkd
    network_data.py   network_data.json and the EC2 addresses, from the ports
    documents.py      the OpenStack and EC2 trees, their versions and paths
    proxy_request.py  the proxy's headers checked: 400, 403, or whose request
    source.py         a server's documents, gathered once and kept briefly
    app.py            the HTTP side (a small Flask app)
    server.py         the thread in computed's worker that serves it

The config drive (computed/configdrive.py) is written from the same
documents, so what a guest reads from the drive and from the service agree.
"""
