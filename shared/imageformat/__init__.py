"""Image format inspection and safety checks, in pure Python.

Uploaded disk images are hostile input: never run qemu-img on them before
this package has said they are safe (see :mod:`.base` for why, and each
format module for the attacks it stops).

Public API::

    from shared.imageformat import StreamingInspector, check, ImageSafetyError

    inspector = StreamingInspector()
    for chunk in upload:            # any chunk sizes
        inspector.feed(chunk)
    result = inspector.finish()     # InspectionResult
    check(result, "qcow2")          # raises ImageSafetyError(reasons)
    result.virtual_size, result.format, result.qemu_format

    check_file(path, disk_format)   # inspect_file() + check(), for computed
"""

from .base import MAX_VIRTUAL_SIZE, ImageSafetyError
from .detect import (
                     InspectionResult,
                     StreamingInspector,
                     inspect_file,
                     inspect_stream,
                     qemu_format_name,
)
from .policy import ACCEPTED_CONTENT, check, check_file, format_mismatch
from .vmdk import DEFAULT_ALLOWED_TYPES as DEFAULT_VMDK_ALLOWED_TYPES

__all__ = [
    "ACCEPTED_CONTENT",
    "DEFAULT_VMDK_ALLOWED_TYPES",
    "ImageSafetyError",
    "InspectionResult",
    "MAX_VIRTUAL_SIZE",
    "StreamingInspector",
    "check",
    "check_file",
    "format_mismatch",
    "inspect_file",
    "inspect_stream",
    "qemu_format_name",
]
