"""computed's REST API (Nova v2.1 subset), one blueprint per resource.
Thin on purpose: parse, authorize, call a flow or the repository, render."""
