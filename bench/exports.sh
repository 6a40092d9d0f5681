#!/usr/bin/env bash
# make bench, issue 28's check: cache hits per CPU-second with [log]
# leases, dnstap and syslog all on, against the same server with them all
# off, side by side, each pinned to CPU 0 with dnsperf on CPU 1; a
# collector (bench/collector) takes the dnstap frames and syslog messages.
# Loopback only; every load bounded (dnsperf -l).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_EXPORT_ROUNDS:-3}
OUT=${BENCH_OUT:-bench/out}/exports
UP=127.0.0.1:5590
mkdir -p "$OUT"
need dnsperf taskset
[ "$(nproc)" -ge 2 ] || { echo "bench/exports.sh: needs two CPUs"; exit 1; }
go build -o "$OUT/civicdns" ./cmd/civicdns
go build -o "$OUT/upstream" ./bench/upstream
go build -o "$OUT/collector" ./bench/collector
kill_on_exit
"$OUT/upstream" -listen "$UP" & pids+=($!)
"$OUT/collector" -dnstap "$PWD/$OUT/dnstap.sock" -syslog 127.0.0.1:5514 > "$OUT/collector.log" & pids+=($!)
collector_pid=$!

# 1,000 leases naming the loopback clients (dnsmasq format).
{ echo "0 02:00:00:00:00:01 127.0.0.1 bench-client *"; awk 'BEGIN{for(i=1;i<=250;i++) for(j=1;j<=4;j++) printf "0 02:00:00:00:%02x:%02x 127.0.%d.%d host-%d-%d *\n", i, j, j, i, i, j}'; } > "$OUT/dnsmasq.leases"

base() { cat <<TOML
[server]
listen = ["127.0.0.1:$1"]
udp_sockets = 1
[upstream]
servers = ["$UP"]
[cache]
size = 300000
[metrics]
listen = ""
[policy]
block = []
[log]
dir = "querylog-$1"
TOML
}
base 5591 > "$OUT/off.toml"
{ base 5592; printf 'leases = ["dnsmasq.leases"]\ndnstap = "unix:dnstap.sock"\nsyslog = "tcp://127.0.0.1:5514"\n\n'; } > "$OUT/on.toml"
for who in off on; do
  GOMAXPROCS=1 taskset -c 0 "$OUT/civicdns" serve -config "$OUT/$who.toml" -log-level warn & pids+=($!)
  eval "${who}_pid=$!"
done
head -n 1000 testdata/top-domains.txt | awk 'NF{print $1" A"}' > "$OUT/hits.txt"
for port in 5591 5592; do
  wait_ready "$port"
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -n 1 -q 200 >/dev/null 2>&1 || true
done
declare -A cps
ratios=""
for r in $(seq 1 "$ROUNDS"); do
  for who in off on; do
    port=5591; pid=$off_pid; [ $who = on ] && port=5592 && pid=$on_pid
    t0=$(cputicks "$pid")
    taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -l "$SECONDS_PER_RUN" -q 500 -c 4 -T 1 > "$OUT/$who-$r.log" 2>&1 || true
    t1=$(cputicks "$pid")
    n=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$OUT/$who-$r.log")
    cps[$who-$r]=$(per_cpu_second "$n" $((t1-t0)))
  done
  q=$(awk -v a="${cps[on-$r]}" -v b="${cps[off-$r]}" 'BEGIN{printf "%.3f", (b>0)?a/b:0}')
  ratios+="$q "
  echo "round $r  cache hits per CPU-second: all off ${cps[off-$r]}, leases+dnstap+syslog on ${cps[on-$r]}: $q"
done
echo "exports: queries per CPU-second with leases, dnstap and syslog (its default events: blocked lookups and audit) on, against off, median of $ROUNDS rounds: $(echo $ratios | tr ' ' '\n' | median) (rounds: $ratios)"
row "cache hits with leases + dnstap + syslog on, per CPU-second (civicdns on / off)" \
  "$(for r in $(seq 1 "$ROUNDS"); do echo "${cps[on-$r]}"; done | median)" "off: $(for r in $(seq 1 "$ROUNDS"); do echo "${cps[off-$r]}"; done | median)" \
  "$(echo $ratios | tr ' ' '\n' | median)" "$(echo $ratios | tr ' ' '\n' | spread)"
kill "$collector_pid"; wait "$collector_pid" 2>/dev/null || true
cat "$OUT/collector.log"
