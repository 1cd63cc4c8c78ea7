#!/usr/bin/env bash
# Build the example service exactly as its Dockerfile does, without docker:
# scripts/dockerfile-build carries out the Dockerfile's build stage (see
# there), with the repository root as the build context.
#
# Usage: examples/service/build.sh [-n] OUTPUT
#   -n  print the build stage's instructions as they would run; run nothing
# Environment: PGO_GATEWAY, SERVICE_TAG (the Dockerfile's ARGs), GO,
# GOCACHE, BUILD_ROOT (see scripts/dockerfile-build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
flags=()
if [ "${1:-}" = "-n" ]; then
  flags+=(-n)
  shift
fi
exec "$here/../../scripts/dockerfile-build" "${flags[@]}" -f "$here/Dockerfile" "$@"
