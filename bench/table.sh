#!/usr/bin/env bash
# make bench's last step: the rows the scripts added to bench/out/results.tsv
# (bench/lib.sh row) and the Go benchmarks' guards, as one table, printed
# and written to bench/RESULTS.md with the date and the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/out}
RESULTS=${BENCH_RESULTS:-$OUT/results.tsv}
GOBENCH=$OUT/go-bench.txt
[ -s "$RESULTS" ] || { echo "bench/table.sh: no results in $RESULTS (run make bench)"; exit 1; }

gobench() { # NAME UNIT: the figure a Go benchmark reported in UNIT
  awk -v n="$1" -v u="$2" '$1 ~ "^"n"(-[0-9]+)?$" {for (i=2;i<NF;i++) if ($(i+1)==u) {print $i; exit}}' "$GOBENCH" 2>/dev/null
}

{
  echo "# civicdns beside Unbound: make bench"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -r)),"
  echo "$(go version | cut -d' ' -f3), $(unbound -V 2>/dev/null | head -1 | cut -d' ' -f1-2 | tr 'V' 'v'), $(dnsperf -h 2>&1 | sed -n 's/^Version /dnsperf /p')."
  echo "Each ratio is civicdns over Unbound in the same round (for latency and seconds lower is better, so"
  echo "a ratio under 1 favours civicdns there); the median of the rounds' ratios and their range. Shared,"
  echo "noisy machines: read the spread before the median. \`make bench\` rewrites this file."
  echo
  echo "| what | civicdns | Unbound (or the reference) | ratio, median | ratio, range over rounds |"
  echo "| --- | ---: | ---: | ---: | --- |"
  # awk keeps empty fields (read with a tab IFS would merge them); figures
  # with decimals are rounded: to whole numbers from 100, ratios to two places.
  awk -F'\t' 'function f(v) { if (v ~ /^-?[0-9]+\.[0-9]+$/) return (v+0 >= 100) ? sprintf("%.0f", v) : sprintf("%.2f", v); return v }
    { printf "| %s | %s | %s | %s | %s |\n", $1, f($2), f($3), f($4), $5 }' "$RESULTS"
  if [ -s "$GOBENCH" ]; then
    echo "| matcher memory, MB per million listed names (BenchmarkBuild2M; guard: < 36) | $(gobench BenchmarkBuild2M MB_per_M_names) | | | |"
    echo "| matcher decision, ns a lookup of www.+popular name, 2M names (BenchmarkLookup2M; < 200) | $(gobench BenchmarkLookup2M ns/op) | | | |"
    echo "| cached answer, ns and allocations (BenchmarkCachedAnswer, in-process) | $(gobench BenchmarkCachedAnswer ns/op) ns, $(gobench BenchmarkCachedAnswer allocs/op) allocs | | | |"
  fi
} > bench/RESULTS.md
cat bench/RESULTS.md
