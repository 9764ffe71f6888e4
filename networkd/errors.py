"""Neutron's errors: each has the type name, the status and the message of
the exception Neutron raises for the same mistake, so a client (and a
student comparing with a real cloud) sees the same answer.

The body is Neutron's:  {"NeutronError": {"type": "NetworkNotFound",
"message": "Network 3f.. could not be found.", "detail": ""}}
(networkd.api.errors renders it; any module raises these).

Raise with the message's fields as keywords, as in Neutron:
    raise NetworkNotFound(net_id=network_id)
    raise InvalidInput(error_message="'foo' is not a valid IP address")
A new error is one class with `status` and `template`.
"""
from __future__ import annotations

from shared.errors import ApiError


class NeutronError(ApiError):
    """The base: 500 unless a subclass says otherwise. The type shown to
    clients is the class name (Neutron's get_exception_data)."""
    status = 500
    template = "An unknown exception occurred."

    def __init__(self, message: str | None = None, **fields):
        super().__init__(message if message is not None else self.template % fields)

    @property
    def type(self) -> str:
        return type(self).__name__


# --- the families (neutron_lib.exceptions) ----------------------------------------------
class BadRequest(NeutronError):
    status = 400
    template = "Bad %(resource)s request: %(msg)s."


class NotAuthorized(NeutronError):
    status = 403
    template = "Not authorized."


class NotFound(NeutronError):
    status = 404
    template = "An unknown exception occurred."


class Conflict(NeutronError):
    status = 409
    template = "An unknown exception occurred."


class InUse(Conflict):
    template = "The resource is in use."


class ServiceUnavailable(NeutronError):
    status = 503
    template = "The service is unavailable."


# --- bad input --------------------------------------------------------------------------
class InvalidInput(BadRequest):
    template = "Invalid input for operation: %(error_message)s."


class MalformedRequestBody(BadRequest):
    template = "Malformed request body: %(reason)s."


class InvalidAllocationPool(BadRequest):
    template = "The allocation pool %(pool)s is not valid."


class OutOfBoundsAllocationPool(BadRequest):
    template = "The allocation pool %(pool)s spans beyond the subnet cidr %(subnet_cidr)s."


class InvalidIpForSubnet(BadRequest):
    template = "IP address %(ip_address)s is not a valid IP for the specified subnet."


class InvalidIpForNetwork(BadRequest):
    template = ("IP address %(ip_address)s is not a valid IP for any of the subnets on "
                "the specified network.")


class InvalidCIDR(BadRequest):
    template = "Invalid CIDR %(input)s given as IP prefix."


class HostRoutesExhausted(BadRequest):
    template = ("Unable to complete operation for %(subnet_id)s. The number of host routes "
                "exceeds the limit %(quota)s.")


class DNSNameServersExhausted(BadRequest):
    template = ("Unable to complete operation for %(subnet_id)s. The number of DNS "
                "nameservers exceeds the limit %(quota)s.")


class TenantIdProjectIdFilterConflict(BadRequest):
    template = "Both tenant_id and project_id passed as filters."


class ExternalIpAddressExhausted(BadRequest):
    template = "Unable to find any IP address on external network %(net_id)s."


class PortSecurityAndIPRequiredForSecurityGroups(InvalidInput):
    template = "Port security must be enabled and port must have an IP address in order " \
               "to use security groups."


class PortSecurityPortHasSecurityGroup(InUse):
    template = "Port has security group associated. Cannot disable port security or IP " \
               "address until security group is removed."


# --- not found --------------------------------------------------------------------------
class HTTPNotFound(NotFound):
    template = "The resource could not be found."


class NetworkNotFound(NotFound):
    template = "Network %(net_id)s could not be found."


class SubnetNotFound(NotFound):
    template = "Subnet %(subnet_id)s could not be found."


class PortNotFound(NotFound):
    template = "Port %(port_id)s could not be found."


class TagNotFound(NotFound):
    template = "Tag %(tag)s could not be found for %(resource)s %(resource_id)s."


class QuotaResourceUnknown(NotFound):
    template = "Unknown quota resources %(unknown)s."


# --- conflicts --------------------------------------------------------------------------
class NetworkInUse(InUse):
    template = "Unable to complete operation on network %(net_id)s. %(reason)s."

    def __init__(self, **fields):
        fields.setdefault("reason", "There are one or more ports still in use on the network")
        super().__init__(**fields)


class SubnetInUse(InUse):
    template = "Unable to complete operation on subnet %(subnet_id)s: %(reason)s."

    def __init__(self, **fields):
        fields.setdefault("reason", "One or more ports have an IP allocation from this subnet")
        super().__init__(**fields)


class PortInUse(InUse):
    template = ("Unable to complete operation on port %(port_id)s for network %(net_id)s. "
                "Port already has an attached device %(device_id)s.")


class ServicePortInUse(InUse):
    template = "Port %(port_id)s cannot be deleted directly via the port API: %(reason)s."


class NetworkMacAddressGenerationFailure(ServiceUnavailable):
    template = "Unable to generate unique mac on network %(net_id)s."


class MacAddressInUse(InUse):
    template = ("Unable to complete operation for network %(net_id)s. The mac address "
                "%(mac)s is in use.")


class IpAddressAlreadyAllocated(Conflict):
    template = "IP address %(ip)s already allocated in subnet %(subnet_id)s"


class IpAddressGenerationFailure(Conflict):
    template = "No more IP addresses available on network %(net_id)s."


class OverlappingAllocationPools(Conflict):
    template = ("Found overlapping allocation pools: %(pool_1)s %(pool_2)s for subnet "
                "%(subnet_cidr)s.")


class GatewayConflictWithAllocationPools(InUse):
    template = "Gateway ip %(ip_address)s conflicts with allocation pool %(pool)s."


class GatewayIpInUse(InUse):
    template = ("Current gateway ip %(ip_address)s already in use by port %(port_id)s. "
                "Unable to update.")


class OverQuota(Conflict):
    template = "Quota exceeded for resources: %(overs)s."


class ExternalNetworkInUse(InUse):
    template = ("External network %(net_id)s cannot be updated to be made non-external, "
                "since it has existing gateway ports.")


class InvalidSharedSetting(Conflict):
    template = ("Unable to reconfigure sharing settings for network %(network)s. Multiple "
                "projects are using it.")


class DeviceIDNotOwnedByProject(Conflict):
    template = ("The following device_id %(device_id)s is not owned by your project or "
                "matches another projects router.")


# --- policy -----------------------------------------------------------------------------
class PolicyNotAuthorized(NotAuthorized):
    """oslo.policy's refusal, worded as Neutron words it: the rules that
    were checked, e.g. "(rule:create_network and rule:create_network:shared)
    is disallowed by policy"."""
    template = "%(rule)s is disallowed by policy"


class AdminRequired(NotAuthorized):
    template = "User does not have admin privileges: %(reason)s."
