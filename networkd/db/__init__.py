"""networkd's database: the tables (models.py) and the helpers every resource
module shares (common.py)."""
