"""volumed's HTTP API (Cinder v3 subset): thin Flask blueprints. Each handler
parses the request, asks policy, calls a flow, renders Cinder's JSON."""
