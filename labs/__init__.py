"""Lab helpers: things PocketStack's tests and students build on the side
(for instance the tiny bootable test image in `labs.tinyimage`)."""
