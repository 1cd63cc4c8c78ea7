-- Every kind of bad input gets its own clear error, and nothing is stored.
\getenv abs_srcdir PG_ABS_SRCDIR
\set data :abs_srcdir '/data/'

-- SQLSTATE, message and detail of the cast, or 'ok'
CREATE FUNCTION try_pprof(b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
	detail text;
BEGIN
	PERFORM b::pprof;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL;
	RETURN state || ': ' || msg || E'\n  ' || detail;
END $$;

CREATE TABLE good AS
SELECT pg_read_binary_file(:'data' || 'cpu.pb.gz') AS gz,
       pg_read_binary_file(:'data' || 'cpu.pb') AS pb;

-- A small valid profile built by hand: one sample type, one sample, one
-- location, one function. The bad inputs below are it with one defect each.
-- strings: "" "cpu" "ns" "main.f"
\set strings '3200' '3203637075' '32026e73' '32066d61696e2e66'
\set st '0a0408011002'
-- function {id 1, name 3, start_line 7}
\set fn '2a06080110032807'
-- location {id 1, line {function_id 1, line 9}}
\set loc '22080801220408011009'
-- sample {location_id [1], value [5]}
\set smp '12060a0101120105'

CREATE TABLE bad (name text PRIMARY KEY, bytes bytea NOT NULL);
INSERT INTO bad VALUES
 ('00 hand-made valid profile', decode(:'st' || :'smp' || :'loc' || :'fn' || :'strings', 'hex')),
 -- gzip layer
 ('01 truncated gzip', (SELECT substr(gz, 1, length(gz) / 2) FROM good)),
 ('02 bad gzip CRC', (SELECT set_byte(gz, length(gz) - 8, get_byte(gz, length(gz) - 8) # 255) FROM good)),
 ('03 trailing garbage after gzip', (SELECT gz || '\x00ff'::bytea FROM good)),
 ('04 two gzip members', (SELECT gz || gz FROM good)),
 ('05 gzip magic only', '\x1f8b'),
 -- wire format
 ('10 empty input', ''),
 ('11 wire type 7', '\x0f'),
 ('12 varint of 11 bytes', '\x48ffffffffffffffffffff01'),
 ('13 truncated varint', '\x48ff'),
 ('14 length past the buffer', '\x0a05080110'),
 ('15 group wire type', '\x0b'),
 ('16 field number 0', '\x0001'),
 ('17 wrong wire type for known field', '\x1001'),
 ('18 truncated fixed64', '\x7901020304'),
 ('19 text, not a profile', convert_to('<html>502 Bad Gateway</html>', 'UTF8')),
 -- references and tables
 ('20 sample refers to missing location',
  decode(:'st' || '12060a0163120105' || :'loc' || :'fn' || :'strings', 'hex')),
 ('21 line refers to missing function',
  decode(:'st' || :'smp' || '22080801220408091009' || :'fn' || :'strings', 'hex')),
 ('22 location refers to missing mapping',
  decode(:'st' || :'smp' || '220a08011007220408011009' || :'fn' || :'strings', 'hex')),
 ('23 string index out of range',
  decode('0a0408091002' || :'smp' || :'loc' || :'fn' || :'strings', 'hex')),
 ('24 negative string index',
  decode('0a0d08ffffffffffffffffff011002' || :'smp' || :'loc' || :'fn' || :'strings', 'hex')),
 ('25 too many values for sample types',
  decode(:'st' || '12070a010112020505' || :'loc' || :'fn' || :'strings', 'hex')),
 ('26 too few values for sample types',
  decode(:'st' || '12030a0101' || :'loc' || :'fn' || :'strings', 'hex')),
 ('27 duplicate function IDs',
  decode(:'st' || :'smp' || :'loc' || :'fn' || :'fn' || :'strings', 'hex')),
 ('28 location ID 0',
  decode(:'st' || :'smp' || '220422020801' || :'fn' || :'strings', 'hex')),
 ('29 function ID 0',
  decode(:'st' || :'smp' || :'loc' || '2a0410032807' || :'strings', 'hex')),
 ('30 first string not empty',
  decode(:'st' || :'smp' || :'loc' || :'fn' || '320178' || :'strings', 'hex')),
 ('31 no string table',
  decode(:'st', 'hex')),
 -- strings are bytes, as in Go: stored as received (see pprof_strings)
 ('32 string not UTF-8 is fine',
  decode(:'st' || :'smp' || :'loc' || :'fn' || :'strings' || '3202c328', 'hex')),
 ('33 string with NUL byte is fine',
  decode(:'st' || :'smp' || :'loc' || :'fn' || :'strings' || '32026100', 'hex')),
 -- decoding limits
 ('40 gzip bomb: 1 GiB of zeros', pg_read_binary_file(:'data' || 'hostile/bomb.pb.gz')),
 ('41 amplification: 100k empty samples', pg_read_binary_file(:'data' || 'hostile/amplification.pb.gz')),
 ('42 stack deeper than 4096 frames',
  decode(:'st' || '128a20' || '0a8420' || repeat('01', 4100) || '120105' || :'loc' || :'fn' || :'strings', 'hex'));

SELECT name, length(bytes) AS bytes, try_pprof(bytes) AS result FROM bad ORDER BY name;

-- pprof_validate() reports the same reason without raising
SELECT name FROM bad
WHERE (try_pprof(bytes) = 'ok') <> (pprof_validate(bytes) IS NULL)
   OR pprof_is_valid(bytes) <> (pprof_validate(bytes) IS NULL)
   OR (pprof_validate(bytes) IS NOT NULL AND
       position(split_part(pprof_validate(bytes), ': ', 2) IN try_pprof(bytes)) = 0)
ORDER BY name;

-- the limit is a setting; an input over it is refused before decoding
SET pprof.max_profile_bytes = '16kB';
SELECT try_pprof(gz) AS gzip_over_limit, try_pprof(pb) AS raw_over_limit FROM good;
RESET pprof.max_profile_bytes;
SELECT try_pprof(gz) AS gzip_under_limit FROM good;

-- only a superuser may raise it
CREATE ROLE pprof_user;
SET ROLE pprof_user;
SET pprof.max_profile_bytes = '1GB';
RESET ROLE;
DROP ROLE pprof_user;

-- a failed INSERT leaves nothing behind
CREATE TABLE store (id int, p pprof);
INSERT INTO store SELECT 1, bytes FROM bad WHERE name LIKE '01%';
INSERT INTO store
SELECT row_number() OVER (ORDER BY name), bytes FROM bad
WHERE name LIKE '00%' OR name LIKE '27%';
SELECT count(*) AS stored_rows FROM store;
