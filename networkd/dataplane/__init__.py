"""The data plane: what networkd's database says, made real in the kernel.

The API layer never touches the kernel. It turns its database into a
`DesiredState` (model.py) and hands it to a `DataPlane` (contract.py),
which brings the stack's network namespace in line with it.
"""
