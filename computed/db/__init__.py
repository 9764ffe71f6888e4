"""computed's database: SQLAlchemy models and the queries the API and the
flows share."""
