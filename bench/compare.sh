#!/bin/sh
# compare.sh runs the side-by-side CSP benchmarks in ONE go test invocation
# (-count 10, so that every variant runs on the same machine, interleaved
# with the others' runs) and summarizes them with benchstat, each library
# as a column against unrolled/secure.
#
#   cd bench && ./compare.sh [out-dir]
#
# benchstat: go install golang.org/x/perf/cmd/benchstat@latest
set -eu
out=${1:-$(mktemp -d)}
benchstat=${BENCHSTAT:-$(go env GOPATH)/bin/benchstat}
go test -run '^$' -bench '^BenchmarkCSP(Nonce|Static)$' -count 10 . | tee "$out/raw.txt"
# One file per library, the sub-benchmark name removed, so that benchstat
# lines them up and prints the ratio to the first (unrolled). ideal and
# idealctx are hand-written floors (no library), bare is no middleware.
for lib in unrolled bulwark ideal idealctx bare; do
	grep -E "^Benchmark[A-Za-z]+/$lib-" "$out/raw.txt" | sed -E "s#^(Benchmark[A-Za-z]+)/$lib-#\1-#" >"$out/$lib.txt"
done
(cd "$out" && "$benchstat" unrolled.txt bulwark.txt ideal.txt idealctx.txt bare.txt)
echo "raw results in $out/raw.txt"
