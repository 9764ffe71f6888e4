"""Kept for the importers still being moved: computed reaches imaged and
volumed through shared.clients (ImageClient, VolumeClient)."""
from shared.clients import Caller, ImageClient, RemoteError, VolumeClient

ImagedClient = ImageClient
VolumedClient = VolumeClient

__all__ = ["Caller", "ImageClient", "ImagedClient", "RemoteError", "VolumeClient",
           "VolumedClient"]
