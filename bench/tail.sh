#!/usr/bin/env bash
# make bench, the tail: latency of cache hits at fixed rates (dnsperf -Q,
# every answer's time with -v), p99 and p99.9, civicdns and Unbound in turn
# in each round (who goes first alternates), for BENCH_TAIL_RATES (20,000
# and 50,000 q/s) and BENCH_TAIL_ROUNDS (5) rounds: the medians and the
# spread of the rounds. Each server is pinned to CPU 0 (one thread, one
# socket) and dnsperf to CPU 1: on two shared cores a server that shares
# its core with the load generator measures the scheduler's tail, not its
# own. civicdns runs with GODEBUG=gctrace=1, so the collections made during
# each run are counted beside its tail. Loopback only; every load bounded
# (dnsperf -l).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_TAIL_ROUNDS:-5}
RATES=${BENCH_TAIL_RATES:-20000 50000}
OUT=${BENCH_OUT:-bench/out}/tail
UP=127.0.0.1:5690
CIVIC_PORT=5691
UNBOUND_PORT=5692
mkdir -p "$OUT"
need dnsperf unbound taskset
[ "$(nproc)" -ge 2 ] || { echo "bench/tail.sh: needs two CPUs (server and dnsperf pinned apart)"; exit 1; }
go build -o "$OUT/civicdns" ./cmd/civicdns
go build -o "$OUT/upstream" ./bench/upstream
kill_on_exit
"$OUT/upstream" -listen "$UP" & pids+=($!)

civicdns_forwarding $CIVIC_PORT "$UP" 1 > "$OUT/civicdns.toml"
GODEBUG=gctrace=1 GOMAXPROCS=1 taskset -c 0 "$OUT/civicdns" serve -config "$OUT/civicdns.toml" -log-level warn 2> "$OUT/gctrace.log" & pids+=($!)
{ unbound_server $UNBOUND_PORT; unbound_forwarding "$UP"; } | sed 's/num-threads: 2/num-threads: 1/' > "$OUT/unbound.conf"
taskset -c 0 unbound -d -c "$OUT/unbound.conf" & pids+=($!)

head -n 1000 testdata/top-domains.txt | awk 'NF{print $1" A"}' > "$OUT/hits.txt"
for port in $CIVIC_PORT $UNBOUND_PORT; do
  wait_ready "$port"
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -n 1 -q 200 >/dev/null 2>&1 || true
done

# pct FILE Q: the Q quantile of the answers' times in a dnsperf -v log, in ms.
pct() { sed -n 's/^> [A-Z]* [^ ]* [^ ]* \([0-9.]*\)$/\1/p' "$1" | sort -g | awk -v p="$2" '{a[NR]=$1} END{i=int(NR*p); if(i<1)i=1; printf "%.3f", a[i]*1000}'; }
gcs() { grep -c '^gc ' "$OUT/gctrace.log" || true; }

declare -A lat
for rate in $RATES; do
  for r in $(seq 1 "$ROUNDS"); do
    order="civicdns unbound"; [ $((r % 2)) = 0 ] && order="unbound civicdns"
    line="round $r  $rate q/s:"
    for who in $order; do
      port=$CIVIC_PORT; [ $who = unbound ] && port=$UNBOUND_PORT
      g0=$(gcs)
      taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -l "$SECONDS_PER_RUN" -Q "$rate" -c 4 -T 1 -v > "$OUT/lat-$who-$rate-$r.log" 2>&1 || true
      for q in 0.99 0.999; do lat[$who-$rate-$q-$r]=$(pct "$OUT/lat-$who-$rate-$r.log" $q); done
      line+="  $who p99 ${lat[$who-$rate-0.99-$r]} p99.9 ${lat[$who-$rate-0.999-$r]} ms (lost $(lost "$OUT/lat-$who-$rate-$r.log"))"
      [ $who = civicdns ] && line+=" $(( $(gcs) - g0 )) GCs"
    done
    echo "$line"
  done
done

echo
echo "latency of cache hits at fixed rates, ms, median of $ROUNDS rounds (spread: the rounds' range):"
for rate in $RATES; do
  for q in 0.99 0.999; do
    med() { for r in $(seq 1 "$ROUNDS"); do echo "${lat[$1-$rate-$q-$r]}"; done | median; }
    rng() { for r in $(seq 1 "$ROUNDS"); do echo "${lat[$1-$rate-$q-$r]}"; done | spread; }
    ratios=$(for r in $(seq 1 "$ROUNDS"); do ratio "${lat[civicdns-$rate-$q-$r]}" "${lat[unbound-$rate-$q-$r]}"; echo; done)
    label="p$(awk -v q=$q 'BEGIN{print q*100}') at $rate q/s"
    printf "  %-18s civicdns %7.3f (%s)   unbound %7.3f (%s)   ratio median %.2f (%s)\n" "$label" \
      "$(med civicdns)" "$(rng civicdns)" "$(med unbound)" "$(rng unbound)" "$(echo "$ratios" | median)" "$(echo "$ratios" | spread)"
    row "cache hits, $label (ms; lower is better)" "$(med civicdns)" "$(med unbound)" "$(echo "$ratios" | median)" "$(echo "$ratios" | spread)"
  done
done
echo "civicdns collections during the whole run: $(gcs)"
