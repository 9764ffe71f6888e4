"""imaged's HTTP API: Flask blueprints, one per resource. Each handler
parses the request, asks policy, calls the domain or the upload flow and
renders the result; the rules themselves live in imaged.domain."""
