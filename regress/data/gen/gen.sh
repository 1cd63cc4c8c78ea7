#!/usr/bin/env bash
# gen.sh: regenerate every fixture of regress/data/ from real Go programs
# (runtime/pprof), then check them. Wired to `make fixtures`. Only needed to
# refresh the fixtures: they are committed, so the SQL tests never need Go.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(dirname "$here")            # regress/data

if command -v go >/dev/null 2>&1; then
	GO=go
elif [ -x /usr/lib/go-1.23/bin/go ]; then
	GO=/usr/lib/go-1.23/bin/go
else
	echo "gen.sh: Go not found (need go on PATH or /usr/lib/go-1.23/bin/go)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgpprof-gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Stdlib only: never download anything (modules or toolchains).
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=
# Without HOME, go has no default build cache or GOPATH: use throwaway ones.
if [ -z "${HOME:-}" ]; then
	export GOCACHE="${GOCACHE:-$tmp/gocache}" GOPATH="${GOPATH:-$tmp/gopath}"
fi

# -trimpath: file names in the profiles are module-relative, not /home/...;
# -B gobuildid: the mappings carry a build ID (differs between the 2 programs).
cd "$here"
"$GO" build -trimpath -ldflags=-B=gobuildid -o "$tmp/gen" .
"$GO" build -trimpath -ldflags=-B=gobuildid -o "$tmp/otherprog" ./otherprog

"$tmp/gen" -out "$out"                      # all fixtures but cpu_b1
"$tmp/otherprog" -out "$out"                # cpu_b1.pb.gz
gunzip -c "$out/cpu.pb.gz" > "$out/cpu.pb"  # raw protobuf twin of cpu.pb.gz
# wrong/: the inputs not written by Go (the Go ones come from wrong.go):
# a legacy binary CPU profile (gperftools' libprofiler, Debian package
# libgoogle-perftools4, profiling legacy/spin.c), another protobuf message
# (protoc's FileDescriptorSet of profile.proto), go tool preprofile's
# output, and a text dump gzipped as people gzip what they upload
profiler=$(ls /usr/lib/*/libprofiler.so.0 2>/dev/null | head -1)
if [ -z "$profiler" ]; then
	echo "gen.sh: libprofiler.so.0 not found (apt-get install libgoogle-perftools4)" >&2
	exit 1
fi
cc -O1 -o "$tmp/spin" legacy/spin.c
LD_PRELOAD=$profiler CPUPROFILE="$out/wrong/legacy_cpu.prof" CPUPROFILE_FREQUENCY=1000 \
	"$tmp/spin" >/dev/null
protoc-c --proto_path=../../../extension/proto --include_imports \
	--descriptor_set_out="$out/wrong/descriptor_set.pb" profile.proto
"$GO" tool preprofile -i "$out/cpu.pb.gz" -o "$out/wrong/preprofile.txt"
gzip -n -c "$out/wrong/goroutine_debug2.txt" > "$out/wrong/goroutine_debug2.txt.gz"

"$tmp/gen" -out "$out" -check               # summary + sanity checks
