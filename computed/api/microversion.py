"""computed's microversions: which compute API version changes what here.

A request names its version in `OpenStack-API-Version: compute 2.N` (or
`X-OpenStack-Nova-API-Version: 2.N`), "latest" for MAX_VERSION; none means
2.1 (shared/microversion.py reads the headers). Handlers and renderers ask
`at_least(X)` of the request being served; the constants below name each
change we honour, and README.md's table lists every version up to
MAX_VERSION, those that change nothing here included.
"""
from __future__ import annotations

from shared.microversion import Microversions, Version

MIN_VERSION: Version = (2, 1)
MAX_VERSION: Version = (2, 38)
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"

COMPUTE = Microversions("compute", MIN_VERSION, MAX_VERSION, default=MIN_VERSION,
                        legacy_header=LEGACY_HEADER)

KEYPAIR_TYPE = (2, 2)           # keypair "type"; create 201, delete 204
EXTENDED_ATTRIBUTES = (2, 3)    # more OS-EXT-SRV-ATTR:*; volumes' delete_on_termination
IP6_FILTER = (2, 5)             # ?ip6= for non-admins
REMOTE_CONSOLES = (2, 6)        # POST /servers/{id}/remote-consoles; os-get*Console gone
PUBLIC_FLAVOR_ACCESS = (2, 7)   # addTenantAccess on a public flavor is 409
LOCKED = (2, 9)                 # "locked" in a server
KEYPAIR_USER = (2, 10)          # ?user_id= and keypair.user_id for admins
HOST_STATUS = (2, 16)           # "host_status" in a server, for admins
DESCRIPTION = (2, 19)           # a server's "description"
SHELVED_VOLUMES = (2, 20)       # attach and detach volumes of shelved servers
DELETED_ACTIONS = (2, 21)       # os-instance-actions of deleted servers
MIGRATION_TYPE = (2, 23)        # os-migrations: migration_type
TAGS = (2, 26)                  # server tags: /servers/{id}/tags, "tags", tag filters
CPU_INFO_OBJECT = (2, 28)       # a hypervisor's cpu_info is an object, not a string
DEVICE_TAGS = (2, 32)           # "tag" in block_device_mapping_v2 (2.32 only) and networks
BDM_TAG_DROPPED = (2, 33)       # Nova's bug: bdm "tag" refused from 2.33 to 2.41
HYPERVISOR_PAGING = (2, 33)     # os-hypervisors ?limit= &marker=
KEYPAIR_PAGING = (2, 35)        # os-keypairs ?limit= &marker=
NO_PROXIES = (2, 36)            # /images 404; network quotas and limits gone
AUTO_NETWORKS = (2, 37)         # networks required: "auto", "none" or a list
STRICT_STATUS = (2, 38)         # ?status= must be a known status (400)


def current() -> Version:
    return COMPUTE.current()


def at_least(version: Version) -> bool:
    return COMPUTE.at_least(version)
