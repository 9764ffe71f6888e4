"""The clients of the PocketStack services, one per service, for the other
services: a service reaches another only through these (see base.py for
what they share, session.py for the service user's token)."""
from shared.clients.base import Caller, RemoteError, ServiceClient
from shared.clients.compute import ComputeClient
from shared.clients.identity import IdentityClient, fetch_revocations
from shared.clients.image import ImageClient
from shared.clients.network import NetworkClient
from shared.clients.object_store import ObjectStoreClient
from shared.clients.session import ServiceAuthError, ServiceSession
from shared.clients.volume import VolumeClient

__all__ = ["Caller", "ComputeClient", "IdentityClient", "ImageClient", "NetworkClient",
           "ObjectStoreClient", "RemoteError", "ServiceAuthError", "ServiceClient",
           "ServiceSession", "VolumeClient", "fetch_revocations"]
