-- Input and output of the pprof type on real runtime/pprof profiles.
\getenv abs_srcdir PG_ABS_SRCDIR
\set data :abs_srcdir '/data/'

CREATE TABLE fixture (name text PRIMARY KEY, raw bytea NOT NULL);
INSERT INTO fixture
SELECT f, pg_read_binary_file(:'data' || f)
FROM unnest(ARRAY['cpu.pb.gz', 'cpu.pb', 'cpu_labels.pb.gz', 'heap.pb.gz',
                  'goroutine.pb.gz', 'cpu_empty.pb.gz', 'cpu_a1.pb.gz',
                  'cpu_a2.pb.gz', 'cpu_a3.pb.gz', 'cpu_a_long.pb.gz',
                  'cpu_b1.pb.gz']) AS f;

-- every fixture is accepted, by the cast and by the checks
SELECT name, pprof_is_valid(raw), pprof_validate(raw) IS NULL AS no_reason
FROM fixture ORDER BY name;

CREATE TABLE profiles (name text PRIMARY KEY, p pprof NOT NULL);
INSERT INTO profiles SELECT name, raw::pprof FROM fixture;
-- the cast from bytea is an assignment cast
INSERT INTO profiles SELECT 'assigned', raw FROM fixture WHERE name = 'cpu.pb.gz';

-- output is gzip pprof
SELECT name, substr(p::bytea, 1, 2) = '\x1f8b'::bytea AS gzip
FROM profiles ORDER BY name;

-- output is canonical: decoding it and encoding again gives the same bytes
SELECT name, (p::bytea)::pprof::bytea = p::bytea AS stable
FROM profiles ORDER BY name;

-- raw protobuf and gzip input store the same profile
SELECT (SELECT p::bytea FROM profiles WHERE name = 'cpu.pb') =
       (SELECT p::bytea FROM profiles WHERE name = 'cpu.pb.gz') AS raw_equals_gzip;

-- the text form is bytea's, and reads back
SELECT name, (p::text)::pprof::bytea = p::bytea AS text_round_trip,
       left(p::text, 6) AS text_prefix
FROM profiles ORDER BY name;

-- COPY round trip in text and binary format
SELECT md5(:'abs_srcdir' || pg_backend_pid()) AS dirhash \gset
\set textfile '/tmp/pprof_io_' :dirhash '.txt'
\set binfile '/tmp/pprof_io_' :dirhash '.bin'
COPY profiles TO :'textfile';
COPY profiles TO :'binfile' WITH (FORMAT binary);
CREATE TABLE copied_text (LIKE profiles);
CREATE TABLE copied_bin (LIKE profiles);
COPY copied_text FROM :'textfile';
COPY copied_bin FROM :'binfile' WITH (FORMAT binary);
SELECT p.name,
       t.p::bytea = p.p::bytea AS text_copy,
       b.p::bytea = p.p::bytea AS binary_copy
FROM profiles p
JOIN copied_text t USING (name)
JOIN copied_bin b USING (name)
ORDER BY p.name;

-- NULL in, NULL out
SELECT NULL::bytea::pprof IS NULL AS null_cast, pprof_is_valid(NULL) IS NULL AS null_valid;

