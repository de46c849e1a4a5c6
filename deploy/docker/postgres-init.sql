-- Run once by the postgres image on an empty data directory (after it created database "dagster").
-- The codegraph metadata store gets its own database: it and dagster-postgres each keep an
-- alembic_version table of their own migrations.
CREATE DATABASE codegraph;
