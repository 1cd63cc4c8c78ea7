-- pprof 0.2 -> 0.3: changes to objects that exist in 0.2. Objects new in 0.3
-- are not restated here: the build appends their source files (SQL_NEW_0_3
-- in the Makefile) to make sql/pprof--0.2--0.3.sql.

-- pprof_top lists every function, as go tool pprof -top -nodefraction=0
COMMENT ON FUNCTION pprof_top(pprof, integer, text) IS 'the n functions go tool pprof -top -nodefraction=0 lists first, in its order (plain -top also leaves out those under 0.5% of the total)';
