"""/v2/images/{id}/file: upload (PUT) and download (GET, with Range).

Downloads of the file store go out through wsgi.file_wrapper, which gunicorn
answers with sendfile(2): the kernel copies from the page cache to the
socket, for the whole file or a range, and Python never touches the bytes.
The upload flow itself is in imaged/upload.py. A download is served from the
image cache when it holds a copy (imaged/cache/): remote images (http,
volume) are copied there on their first full download, any image when an
admin queues it.
"""
from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.http import parse_range_header
from werkzeug.wsgi import wrap_file

from imaged import upload as upload_flow
from imaged.api import runtime
from imaged.api.body import RequestBody
from imaged.api.render import no_content
from imaged.api.stores import STORE_HEADER
from imaged.cache import image_cache_of
from imaged.cache.fill import open_for_download
from imaged.domain import status as st
from imaged.domain.errors import NotAllowed, WrongMediaType
from imaged.images import visible_image
from imaged.runtime import Imaged
from imaged.store.base import DataNotFound, StoreError
from shared.api import context
from shared.errors import ApiError, RangeNotSatisfiable
from shared.openapi import IMAGE_DATA, describe
from shared.units import MiB

SEND_BLOCK = MiB
UPLOAD_READ_TIMEOUT = 120.0


def receive_image_data(imaged: Imaged, image_id: str, timeout: float, consume) -> None:
    """What PUT /file (upload) and PUT /stage (import) share: the body must be
    octet-stream, the image visible and the caller allowed to upload; then
    consume(ctx, image, body) reads the body straight from the socket."""
    ctx = context()
    media_type = (request.content_type or "application/octet-stream").split(";")[0]
    if media_type.strip().lower() != "application/octet-stream":
        raise WrongMediaType(f"Image data must be sent as application/octet-stream "
                             f"(got {media_type}).")
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("upload_image", ctx, image)
    body = RequestBody(request.environ, timeout=timeout)
    try:
        consume(ctx, image, body)
    finally:
        body.finish()


bp = Blueprint("image_data", __name__)


@bp.put("/v2/images/<image_id>/file")
@describe(request_media="application/octet-stream", request=IMAGE_DATA, status="204")
def upload(image_id: str):
    imaged = runtime()
    store = imaged.stores.named_for_writing(request.headers.get(STORE_HEADER))  # 400 if unknown
    receive_image_data(imaged, image_id, UPLOAD_READ_TIMEOUT,
                       lambda ctx, image, body: upload_flow.upload(imaged, ctx, image, body,
                                                                   store))
    return "", 204


@bp.get("/v2/images/<image_id>/file")
def download(image_id: str):
    imaged, ctx = runtime(), context()
    image = visible_image(imaged, ctx, image_id)
    if image.status == st.DEACTIVATED and not ctx.is_admin:
        raise NotAllowed("The requested image has been deactivated. Image data download "
                         "is forbidden.")
    imaged.authorize("download_image", ctx, image)
    if image.status not in (st.ACTIVE, st.DEACTIVATED) or not image.locations:
        return no_content()  # no data (yet): Glance answers 204 No Content
    size = image.size or 0
    offset, length, partial = _range(request.headers.get("Range"), size)
    try:
        cache = image_cache_of(imaged)
        # The heaviest store first, the image's other stores if it fails.
        data = imaged.stores.open_best(image.locations, lambda store, location: (
            open_for_download(cache.entries if cache else None, store, image, location,
                              offset, length if partial else None)))
    except DataNotFound:
        return no_content()
    except StoreError as exc:
        raise ApiError(str(exc), status=503) from None
    headers = {"Content-Type": "application/octet-stream",
               "Content-Length": str(data.length)}
    if partial:
        headers["Content-Range"] = f"bytes {offset}-{offset + data.length - 1}/{size}"
    elif image.checksum:
        headers["Content-MD5"] = image.checksum
    if data.file is not None:
        body = wrap_file(request.environ, data.file, SEND_BLOCK)
    else:
        body = _closing(data.chunks, data.close)
    return Response(body, status=206 if partial else 200, headers=headers,
                    direct_passthrough=True)


def _range(header: str | None, size: int) -> tuple[int, int, bool]:
    """(offset, length, partial) for a Range header. Malformed or multiple
    ranges are ignored (the whole image is sent), as HTTP allows; a range
    that starts past the end is 416."""
    if not header:
        return 0, size, False
    parsed = parse_range_header(header)
    if parsed is None or len(parsed.ranges) != 1:
        return 0, size, False
    bounds = parsed.range_for_length(size)
    if bounds is None:
        raise RangeNotSatisfiable(f"Range {header} is outside the image's {size} bytes.",
                                  headers={"Content-Range": f"bytes */{size}"})
    start, stop = bounds
    return start, stop - start, True


def _closing(chunks, close):
    try:
        yield from chunks
    finally:
        close()
