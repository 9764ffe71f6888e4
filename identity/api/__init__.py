"""identity's HTTP layer: Keystone v3 routes (auth/, admin/) and how they render."""
