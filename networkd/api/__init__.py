"""networkd's REST layer: one module-level blueprint per resource. A
handler parses the request, calls one function of networkd's resource
modules inside one transaction, and renders the answer."""
