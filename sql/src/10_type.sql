--
-- The type. Values are validated pprof profiles, stored decoded (see
-- extension/pprof.h); text and binary I/O speak gzip pprof files.
--
CREATE TYPE pprof;

CREATE FUNCTION pprof_in(cstring) RETURNS pprof
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION pprof_out(pprof) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION pprof_recv(internal) RETURNS pprof
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION pprof_send(pprof) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE pprof (
	INPUT = pprof_in,
	OUTPUT = pprof_out,
	RECEIVE = pprof_recv,
	SEND = pprof_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);

COMMENT ON TYPE pprof IS 'a validated pprof profile (gzip or raw protobuf in, gzip out)';

CREATE FUNCTION pprof(bytea) RETURNS pprof
	AS 'MODULE_PATHNAME', 'pprof_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof(bytea) IS 'decode and validate a gzip or raw pprof profile';

CREATE FUNCTION bytea(pprof) RETURNS bytea
	AS 'MODULE_PATHNAME', 'pprof_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION bytea(pprof) IS 'the profile as a gzip pprof file';

CREATE CAST (bytea AS pprof) WITH FUNCTION pprof(bytea) AS ASSIGNMENT;
CREATE CAST (pprof AS bytea) WITH FUNCTION bytea(pprof);

CREATE FUNCTION pprof_is_valid(bytea) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_is_valid(bytea) IS 'true if the bytes are a profile the pprof type accepts';

CREATE FUNCTION pprof_validate(bytea) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pprof_validate(bytea) IS 'NULL if the bytes are a valid profile, else the reason they are not';
