"""imaged's rules as plain Python: what an image is, which status may follow
which, what a request may change. Nothing here does I/O, so every rule can be
tested (and read) without a server or a database."""
