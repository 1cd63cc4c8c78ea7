-- Profile strings are bytes. cpu_badutf8.pb.gz is the CPU profile of a
-- net/http service that runs its handler under
-- pprof.Do(ctx, pprof.Labels("path", r.URL.Path), ...) while a client asks
-- for /ok, /%ff, /%fe, /a%00b, /caf%C3%A9 and /%E6%97%A5%E6%9C%AC: Go decodes
-- those into the label values "/ok", "/\xff", "/\xfe", "/a\x00b", "/café" and
-- "/日本", and runtime/pprof writes them as they are. go tool pprof and
-- go build -pgo read such a profile; so must the type, keeping the bytes.
\getenv abs_srcdir PG_ABS_SRCDIR
\getenv abs_builddir PG_ABS_BUILDDIR
\set data :abs_srcdir '/data/'
\set strings_of 'perl ' :abs_srcdir '/data/string-table.pl '
SELECT current_database() AS regress_db \gset

-- in a database of its own, so the output is the same whatever the test
-- cluster's encoding and locale
CREATE DATABASE pprof_utf8 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'
  TEMPLATE template0;
\c pprof_utf8
SET client_encoding = 'UTF8';
CREATE EXTENSION pprof;

CREATE TABLE upload AS
SELECT pg_read_binary_file(:'data' || 'cpu_badutf8.pb.gz') AS gz;

-- accepted, and usable by go build -pgo
SELECT pprof_is_valid(gz), pprof_validate(gz) FROM upload;
CREATE TABLE stored AS SELECT gz::pprof AS p FROM upload;
SELECT pprof_sample_count(p), pprof_pgo_usable(p), pprof_label_values(p, 'path')
FROM stored;

-- As text, each byte that is not UTF-8, and each NUL, reads as U+FFFD.
-- Label reports group by that text: /\xff and /\xfe are one value.
SELECT * FROM pprof_labels((SELECT p FROM stored)) ORDER BY key, value;
SELECT labels, count(*) AS samples, sum("values"[1]) AS total
FROM pprof_stacks((SELECT p FROM stored))
GROUP BY labels ORDER BY labels::text;

-- A filter matches the text the reports show, so every value
-- pprof_label_values lists selects its samples; '/' || U+FFFD selects the
-- samples of /\xff and /\xfe, and a NUL is matched by U+FFFD only.
SELECT v AS value, pprof_sample_count(pprof_filter_label(p, 'path', v)) AS samples
FROM stored, unnest(pprof_label_values(p, 'path') || '{/a,/ab,/a b}') AS v
ORDER BY v;

-- The bytes themselves are kept: the string table of the output (::bytea,
-- read by string-table.pl) is the input's, byte for byte and in order.
\set file :abs_builddir '/results/pprof_strings_in.hex'
COPY (SELECT encode(gz, 'hex') FROM upload) TO :'file';
\set cmd :strings_of :file
CREATE TABLE strings_in (hex text);
COPY strings_in FROM PROGRAM :'cmd';
\set file :abs_builddir '/results/pprof_strings_out.hex'
COPY (SELECT encode(p::bytea, 'hex') FROM stored) TO :'file';
\set cmd :strings_of :file
CREATE TABLE strings_out (hex text);
COPY strings_out FROM PROGRAM :'cmd';
SELECT (SELECT count(*) FROM strings_in) AS strings,
       (SELECT array_agg(hex) FROM strings_in) = (SELECT array_agg(hex) FROM strings_out) AS same;
SELECT decode(hex, 'hex') AS label_value FROM strings_out
WHERE hex IN ('2f6f6b', '2fff', '2ffe', '2f610062', '2f636166c3a9', '2fe697a5e69cac')
ORDER BY 1;

-- pprof_merge interns strings by their bytes: its output holds every label
-- value as received, /\xff and /\xfe apart.
\set file :abs_builddir '/results/pprof_strings_merged.hex'
COPY (SELECT encode(pprof_merge(p)::bytea, 'hex') FROM stored) TO :'file';
\set cmd :strings_of :file
CREATE TABLE strings_merged (hex text);
COPY strings_merged FROM PROGRAM :'cmd';
SELECT decode(hex, 'hex') AS label_value FROM strings_merged
WHERE hex IN ('2f6f6b', '2fff', '2ffe', '2f610062', '2f636166c3a9', '2fe697a5e69cac')
ORDER BY 1;

-- Go writes only label values from outside the program, but every string
-- goes through the same conversion. A hand-made profile (Go's own names are
-- always UTF-8) with bytes that are not UTF-8 or NUL in its sample type and
-- period type, function names, build ID and comment:
-- strings "" "cpu\xff" "n\x00s" "main.f\xfe" "main.f\xff" "id\xc3" "note \xe2\x82"
\set strings '3200' '3204637075ff' '32036e0073' '32076d61696e2e66fe' '32076d61696e2e66ff' '32036964c3' '32076e6f746520e282'
-- sample_type and period_type {1, 2}, period 10, mapping {id 1, build_id 5},
-- functions {1, name 3, start_line 7} and {2, name 4, start_line 9},
-- locations {1, mapping 1, function 1 line 9} and {2, mapping 1, function 2
-- line 10}, samples {[1 2], 5} and {[2], 3}, comment 6
CREATE TABLE handmade AS
SELECT decode('0a0408011002' || '5a0408011002' || '600a' || '1a0408013005' ||
              '2a060801100328072a06080210042809' ||
              '220a08011001220408011009' || '220a0802100122040802100a' ||
              '12070a020102120105' || '12060a0102120103' || '6806' ||
              :'strings', 'hex')::pprof AS p;
SELECT * FROM pprof_sample_types((SELECT p FROM handmade));
SELECT pprof_sample_type_names(p), pprof_period_type(p), pprof_build_id(p),
       pprof_comments(p), pprof_pgo_problems(p)
FROM handmade;
-- a sample type is found by the text it shows as
SELECT pprof_total(p, 'cpu�') AS by_type,
       pprof_total(p, 'cpu�/n�s') AS by_type_unit
FROM handmade;
SELECT pprof_total(p, 'cpu') FROM handmade;
-- error details show the same text
SELECT pprof_merge(p) FROM (SELECT p FROM stored UNION ALL SELECT p FROM handmade) x;
-- pprof_top groups by name bytes, as go tool pprof does: main.f\xfe and
-- main.f\xff are two functions that read alike
SELECT * FROM pprof_top((SELECT p FROM handmade), 5);
SELECT function, flat, cum FROM pprof_functions((SELECT p FROM handmade));
SELECT functions, "values" FROM pprof_stacks((SELECT p FROM handmade));

-- In a database whose encoding lacks a character, reads show '?' for it (and
-- for U+FFFD) instead of failing: a stored profile always stays readable.
CREATE DATABASE pprof_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'
  TEMPLATE template0;
\c pprof_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION pprof;
CREATE TABLE stored AS
SELECT pg_read_binary_file(:'data' || 'cpu_badutf8.pb.gz')::pprof AS p;
SELECT * FROM pprof_labels((SELECT p FROM stored)) ORDER BY key, value;
SELECT v AS value, pprof_sample_count(pprof_filter_label(p, 'path', v)) AS samples
FROM stored, unnest(pprof_label_values(p, 'path')) AS v
ORDER BY v;
SELECT count(*) AS stacks, count(*) FILTER (WHERE labels ? 'path') AS labelled
FROM pprof_stacks((SELECT p FROM stored));
SELECT function, flat FROM pprof_top((SELECT pprof_merge(p) FROM stored), 1);
\c :regress_db
DROP DATABASE pprof_utf8;
DROP DATABASE pprof_latin1;
