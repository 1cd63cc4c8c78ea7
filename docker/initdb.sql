-- First start of the postgres image (Dockerfile, target postgres): the
-- extension in the database of POSTGRES_DB. For production, give the
-- gateway a role of its own with the grants of README.md ("Who may do what").
CREATE EXTENSION pprof;
