#!/usr/bin/env bash
# Write hostile inputs for the decoder tests into DIR (default: this folder).
# They are generated at test time instead of committed: the bomb alone is
# 1 MB of gzip.
#   bomb.pb.gz           1 GiB of zeros, gzip -9 (about 1 MB)
#   amplification.pb.gz  100,000 empty samples after one sample type
#                        (200 KB of protobuf, a few hundred bytes of gzip)
set -euo pipefail
dir=${1:-$(dirname "$0")}
mkdir -p "$dir"
[ -s "$dir/bomb.pb.gz" ] ||
  head -c 1073741824 /dev/zero | gzip -9 > "$dir/bomb.pb.gz"
# sample_type {type:1 unit:2}; 100k x sample {}; strings "", "cpu", "ns"
perl -e 'print pack("H*", "0a0408011002"), "\x12\x00" x 100000,
               pack("H*", "32003203637075" . "32026e73")' |
  gzip -9 > "$dir/amplification.pb.gz"
