#!/usr/bin/env bash
# What the generated columns of pgo.profiles cost per insert, as a share of
# the insert: each derived column's expression evaluated N times on an
# in-memory profile (as pgo.ingest hands it to INSERT), against N inserts
# into pgo.profiles of the same value. Ratios, so a busy machine shifts both.
#
#   bench/catalog-insert/run.sh [N]     (default 2000; prints a table: the
#   least of ${BENCH_ROUNDS:-3} rounds per cell, and the share of an insert
#   that the second PGO analysis (pgo_usable beside problems) and the second
#   sample-type list (in cpu_nanos beside sample_types) take)
#
# Runs a throw-away cluster on port ${BENCH_PORT:-55439} from a private
# install (scripts/tmp-install); as root the cluster runs as postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-2000}
port=${BENCH_PORT:-55439}
work=$(mktemp -d /tmp/pg_pprof-bench.XXXXXX)
chmod 755 "$work"
bindir=$(scripts/tmp-install "$work/install")
cp regress/data/*.pb.gz "$work/"
chmod a+r "$work"/*.pb.gz
as_db=()
if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$work"; as_db=(runuser -u postgres --); fi
cleanup() { "${as_db[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"${as_db[@]}" "$bindir/initdb" -A trust -D "$work/data" >/dev/null
"${as_db[@]}" "$bindir/pg_ctl" -D "$work/data" -o "-p $port -k $work -c fsync=off -c synchronous_commit=off" -l "$work/log" -w start >/dev/null
psql=("${as_db[@]}" "$bindir/psql" -X -q -At -h "$work" -p "$port" -d postgres -v ON_ERROR_STOP=1)
"${psql[@]}" -c 'CREATE EXTENSION pprof' -c 'SELECT count(*) FROM pgo.maintain()' >/dev/null

# µs per evaluation of expression $2 (10 N of them) on fixture $1 held in a
# variable
expr_us() {
  "${psql[@]}" <<SQL
DO \$\$
DECLARE p pprof := pg_read_binary_file('$work/$1')::pprof; x text; t timestamptz;
BEGIN
  t := clock_timestamp();
  FOR i IN 1 .. $n * 10 LOOP x := ($2)::text; END LOOP;
  RAISE NOTICE '%', round(extract(epoch FROM clock_timestamp() - t) * 1e6 / ($n * 10), 2);
END \$\$;
SQL
}
# µs per insert of fixture $1 into pgo.profiles (N of them)
insert_us() {
  "${psql[@]}" <<SQL
TRUNCATE pgo.profiles;
DO \$\$
DECLARE p pprof := pg_read_binary_file('$work/$1')::pprof; t timestamptz;
BEGIN
  t := clock_timestamp();
  FOR i IN 1 .. $n LOOP
    INSERT INTO pgo.profiles (tag, source, profile) VALUES ('bench', 'sql', p);
  END LOOP;
  RAISE NOTICE '%', round(extract(epoch FROM clock_timestamp() - t) * 1000);
END \$\$;
SQL
}
rounds=${BENCH_ROUNDS:-3}
least() {
  local best='' r v
  for r in $(seq "$rounds"); do
    v=$("$@" 2>&1 | sed -n 's/^NOTICE: *//p')
    if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$v; fi
  done
  echo "$best"
}

printf '%-16s %10s' fixture insert
exprs=(
  "pprof_pgo_usable(p)"
  "pprof_pgo_problems(p)"
  "pprof_sample_type_names(p)"
  "CASE WHEN 'cpu/nanoseconds' = ANY (pprof_sample_type_names(p)) THEN pprof_total(p, 'cpu/nanoseconds') END"
  "pprof_label_values(p, 'mode')"
  "extract(epoch FROM pprof_duration(p))::float8"
  "pprof_sample_count(p)"
  "pprof_build_id(p)"
  "1")
names=(pgo_usable problems sample_types cpu_nanos sample_modes duration samples build_id baseline)
for x in "${names[@]}"; do printf ' %12s' "$x"; done; printf ' %10s\n' twice_pct
for f in ${BENCH_FIXTURES:-cpu.pb.gz heap.pb.gz cpu_labels.pb.gz}; do
  ins=$(least insert_us "$f")
  printf '%-16s %10s' "$f" "$ins"
  vals=()
  for x in "${exprs[@]}"; do vals+=("$(least expr_us "$f" "$x")"); printf ' %12s' "${vals[-1]}"; done
  # the repeated work: pgo_usable's analysis, the sample-type list of cpu_nanos
  # (each less the loop's own cost)
  awk -v u="${vals[0]}" -v t="${vals[2]}" -v b="${vals[8]}" -v i="$ins" \
    'BEGIN { r = (u - b) + (t - b); if (r < 0) r = 0; printf " %9.2f%%\n", 100 * r / i }'
done
echo "(µs per insert ($n) or evaluation ($((n * 10))), least of $rounds rounds; $(nproc) cores, $(date -u +%F))"
