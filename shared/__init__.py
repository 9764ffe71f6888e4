"""Code every PocketStack service stands on: configuration, identity, auth,
policy, events, the HTTP plumbing and the `pocketstack` command."""
