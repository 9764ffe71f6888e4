"""imaged's data access: every query lives behind ImageRepository."""
