#!/usr/bin/env bash
# `make run` as root from a checkout only root can enter (root's home is
# 0700 on Debian, where a fresh machine or a container clones to): the
# cluster runs as postgres, so its files must live where postgres can reach
# them, and the output must say where. Run by scripts/run-tests as root.
#
# The checkout is this one's tracked files, as they are in the working tree,
# in a new 0700 directory; the servers listen on ports of their own, and
# everything made is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "first-contact: needs root (it runs make run as root)" >&2
  exit 1
fi

private=$(mktemp -d /tmp/pg_pprof-private.XXXXXX)
chmod 700 "$private"
repo="$private/pg_pprof"
pg_port=${FIRST_CONTACT_PG_PORT:-54391}
gw_listen=127.0.0.1:${FIRST_CONTACT_GW_PORT:-18391}
wk_listen=127.0.0.1:${FIRST_CONTACT_WK_PORT:-19391}
export PGO_LOCAL_PORT=$pg_port PGO_GATEWAY_LISTEN=$gw_listen PGO_WORKER_METRICS_LISTEN=$wk_listen

outside=
cleanup() {
  [ -x "$repo/scripts/run-local" ] && "$repo/scripts/run-local" stop >/dev/null 2>&1 || true
  rm -rf "$private"
  [ -n "$outside" ] && rm -rf "$outside"
}
trap cleanup EXIT

fail() { echo "first-contact: FAIL: $*" >&2; exit 1; }

mkdir "$repo"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$repo"
runuser -u postgres -- test -x "$repo" && fail "postgres can enter $repo: the test proves nothing"

out=$(cd "$repo" && make -s run 2>&1) || { echo "$out" >&2; fail "make run failed"; }
echo "$out" | sed 's/^/  | /'
echo "$out" | grep -q 'Permission denied' && fail "make run printed a permission error"

outside=$(readlink "$repo/.local" || true)
[ -n "$outside" ] || fail ".local is not a link out of the private checkout"
case "$outside" in /var/lib/pg_pprof/*) ;; *) fail ".local links to $outside" ;; esac
echo "$out" | grep -qF "Files:      $outside" || fail "the output does not say where the files are"
runuser -u postgres -- test -w "$outside/data" || fail "postgres cannot write $outside/data"

psql_local=(psql -X -At -h localhost -p "$pg_port" -U postgres -d pgo)
[ "$("${psql_local[@]}" -c "SELECT pprof_validate(pg_read_binary_file('$outside/cpu.pb.gz')) IS NULL")" = t ] ||
  fail "the first query of the output does not work"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
  --data-binary @"$src/regress/data/cpu.pb.gz" "http://$gw_listen/profile/first-contact")
[ "$code" = 201 ] || fail "upload through the gateway answered $code"
[ "$("${psql_local[@]}" -c "SELECT count(*) FROM pgo.profiles WHERE tag = 'first-contact'")" = 1 ] ||
  fail "the upload is not in the catalog"

# a second make run finds the same cluster
(cd "$repo" && make -s run >/dev/null 2>&1) || fail "a second make run failed"
[ "$("${psql_local[@]}" -c "SELECT count(*) FROM pgo.profiles WHERE tag = 'first-contact'")" = 1 ] ||
  fail "a second make run lost the row"

(cd "$repo" && scripts/run-local stop >/dev/null) || fail "scripts/run-local stop failed"
echo "first-contact: make run as root from a 0700 checkout: files in $outside, query, upload, restart, stop: ok"
