--
-- Privileges of the catalog's functions (sql/src/40_catalog_tables.sql says
-- why): EXECUTE on those that write, or read for a caller without table
-- privileges, is revoked from PUBLIC; an administrator grants it (README).
-- Functions added since revoke it next to their definition.
--
REVOKE EXECUTE ON FUNCTION
	pgo.ingest(text, bytea, jsonb, text, text),
	pgo.release(text, text),
	pgo.create_partition(date, interval),
	pgo.maintain(integer, interval),
	pgo.apply_retention(interval),
	pgo.ingest_summary(text, bytea, jsonb, text, text)
FROM PUBLIC;
