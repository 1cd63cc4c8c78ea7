#!/usr/bin/env bash
# Build the example service exactly as its Dockerfile does, without docker.
#
# The instructions are read from examples/service/Dockerfile, not copied into
# this script, so the two cannot drift apart. The build stage (the first
# FROM up to the next FROM) is carried out in a fresh directory that stands
# for the container's file system:
#   ARG NAME=default   the environment variable NAME if set (as docker's
#                      --build-arg), else the default
#   ENV K=V ...        set for the following RUN instructions
#   WORKDIR DIR        created and entered (inside the build root)
#   COPY SRC DST       copied from the build context, the repository root
#   RUN CMD            `sh -c CMD` in a clean environment holding only the
#                      ARG and ENV variables, PATH (with Go), HOME and
#                      GOCACHE; a non-zero exit fails the build, as in docker
# From the final stage only `COPY --from=build SRC DST` is used: SRC is
# copied to OUTPUT. Any other instruction in the build stage, or a flag or
# variable where this script does not support one, is an error.
#
# Usage: examples/service/build.sh [-n] OUTPUT
#   -n  print the build stage's instructions as they would run; run nothing
# Environment: PGO_GATEWAY, SERVICE_TAG (the Dockerfile's ARGs), GO (the go
# binary, default: go on PATH, else /usr/lib/go-1.23/bin/go), GOCACHE,
# BUILD_ROOT (default: a temporary directory, removed afterwards).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
context=$(cd "$here/../.." && pwd)
dockerfile="$here/Dockerfile"

dry_run=0
if [ "${1:-}" = "-n" ]; then
  dry_run=1
  shift
fi
if [ $# -ne 1 ] && [ $dry_run -eq 0 ]; then
  echo "usage: $0 [-n] OUTPUT" >&2
  exit 2
fi
output=${1:-}
[ -z "$output" ] || output=$(realpath -m "$output")

die() { echo "build.sh: $dockerfile: $*" >&2; exit 1; }

# The Dockerfile's instructions, one per line: comments and blank lines
# dropped, continuation lines joined.
instructions() {
  awk '
    /^[ \t]*#/ && cont == "" { next }
    /^[ \t]*$/ && cont == "" { next }
    {
      line = cont $0
      if (line ~ /\\$/) { cont = substr(line, 1, length(line) - 1); next }
      cont = ""
      sub(/^[ \t]+/, "", line)
      print line
    }
    END { if (cont != "") print cont }
  ' "$dockerfile"
}

go_bin=${GO:-$(command -v go || echo /usr/lib/go-1.23/bin/go)}
[ -x "$go_bin" ] || { echo "build.sh: no Go toolchain (set GO)" >&2; exit 1; }
run_env=("PATH=$(dirname "$go_bin"):/usr/local/bin:/usr/bin:/bin" "HOME=${HOME:-/tmp}")
[ -z "${GOCACHE:-}" ] || run_env+=("GOCACHE=$GOCACHE")

if [ $dry_run -eq 0 ]; then
  if [ -n "${BUILD_ROOT:-}" ]; then
    root=$(realpath -m "$BUILD_ROOT")
    mkdir -p "$root"
  else
    root=$(mktemp -d "${TMPDIR:-/tmp}/service-build.XXXXXX")
    trap 'rm -rf "$root"' EXIT
  fi
fi

stage=0       # 0: before the first FROM, 1: build stage, 2: after it
workdir=/
artifact=""
step=0
while IFS= read -r line; do
  keyword=${line%%[[:space:]]*}
  keyword=${keyword^^}
  args=${line#"${line%%[[:space:]]*}"}
  args=${args#"${args%%[![:space:]]*}"}

  if [ "$keyword" = FROM ]; then
    stage=$((stage + 1))
    continue
  fi
  if [ $stage -ne 1 ]; then
    # the final stage: only what it takes from the build stage
    if [ $stage -ge 2 ] && [ "$keyword" = COPY ] && [[ $args == --from=build\ * ]]; then
      read -r _ src _ <<<"$args"
      artifact=$src
    fi
    continue
  fi

  case $keyword in
    ARG|ENV|WORKDIR|COPY)
      [[ $args != *'$'* ]] || die "variables are not supported in $keyword: $line"
      [[ $args != *\"* && $args != *\'* ]] || die "quotes are not supported in $keyword: $line"
      ;;
  esac
  step=$((step + 1))
  if [ $dry_run -eq 1 ]; then
    echo "$line"
  else
    echo "build.sh: [$step] $line" >&2
  fi

  case $keyword in
    ARG)
      name=${args%%=*}
      [[ $args == *=* ]] && default=${args#*=} || default=""
      [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "bad ARG: $line"
      value=${!name-$default}
      run_env+=("$name=$value")
      [ $dry_run -eq 1 ] || [ "$value" = "$default" ] || echo "build.sh:     $name=$value (from the environment)" >&2
      ;;
    ENV)
      for kv in $args; do
        [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "ENV wants KEY=VALUE pairs: $line"
        run_env+=("$kv")
      done
      ;;
    WORKDIR)
      [[ $args == /* ]] && workdir=$args || workdir="${workdir%/}/$args"
      [ $dry_run -eq 1 ] || mkdir -p "$root$workdir"
      ;;
    COPY)
      read -r src dst extra <<<"$args"
      [[ $src != --* && -z ${extra:-} && -n ${dst:-} ]] || die "COPY wants SRC DST: $line"
      [[ $dst == /* ]] || dst="${workdir%/}/$dst"
      if [ $dry_run -eq 0 ]; then
        mkdir -p "$root$dst"
        if [ -d "$context/$src" ]; then
          cp -a "$context/$src/." "$root$dst/"
        else
          cp -a "$context/$src" "$root$dst"
        fi
      fi
      ;;
    RUN)
      [[ $args != \[* ]] || die "exec-form RUN is not supported: $line"
      if [ $dry_run -eq 0 ]; then
        (cd "$root$workdir" && env -i "${run_env[@]}" sh -c "$args") ||
          { echo "build.sh: [$step] failed: $line" >&2; exit 1; }
      fi
      ;;
    *)
      die "instruction $keyword is not supported in the build stage"
      ;;
  esac
done < <(instructions)

[ $stage -ge 1 ] || die "no FROM"
[ -n "$artifact" ] || die "the final stage copies nothing from the build stage (COPY --from=build)"
if [ $dry_run -eq 0 ]; then
  mkdir -p "$(dirname "$output")"
  cp "$root$artifact" "$output"
  echo "build.sh: built $output" >&2
fi
