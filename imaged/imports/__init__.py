"""Interoperable image import (Glance's /stage and /import), in small parts:

    flow.py       the whole import, top to bottom: read this first
    settings.py   the [import] options of imaged-api.conf, checked once
    staging.py    the staging area: where data waits between stage and import
    uri_filter.py which URLs web-download may fetch (and why so few)
    fetch.py      web-download: an http(s) URL into the staging area
    convert.py    qemu-img convert, only on data the inspector said is safe
"""
