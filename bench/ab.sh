#!/usr/bin/env bash
# bench/ab.sh OLD NEW: two civicdns binaries and Unbound, each pinned to
# CPU 0 in turn with dnsperf on CPU 1, answering the same 1,000 cached
# names: queries per CPU-second of each (user + system, from /proc) per
# round, the per-round ratios NEW/OLD, OLD/Unbound and NEW/Unbound, and
# their medians. This is how a speed commit's "side by side with the build
# before" figure is made: build the commit before into one binary, the
# change into another (go build -o), and run this. Loopback only; every
# load is bounded in time (dnsperf -l).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bash bench/ab.sh OLD_BINARY NEW_BINARY"; exit 2; }
OLD=$(realpath "$1"); NEW=$(realpath "$2")
cd "$(dirname "$0")/.."
. bench/lib.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-9}
OUT=${BENCH_OUT:-bench/out}
UP=127.0.0.1:5380
OLD_PORT=5381; NEW_PORT=5382; UNBOUND_PORT=5383
mkdir -p "$OUT"
need dnsperf unbound taskset
[ "$(nproc)" -ge 2 ] || { echo "bench/ab.sh: needs two CPUs (server on one, dnsperf on the other)"; exit 1; }
go build -o "$OUT/upstream" ./bench/upstream
kill_on_exit
"$OUT/upstream" -listen "$UP" & pids+=($!)

conf() { printf '[server]\nlisten = ["127.0.0.1:%s"]\nudp_sockets = 1\n[upstream]\nservers = ["%s"]\n[cache]\nsize = 300000\n[metrics]\nlisten = ""\n' "$1" "$UP"; }
conf $OLD_PORT > "$OUT/ab-old.toml"
conf $NEW_PORT > "$OUT/ab-new.toml"
GOMAXPROCS=1 taskset -c 0 "$OLD" serve -config "$OUT/ab-old.toml" -log-level warn & pids+=($!)
old_pid=$!
GOMAXPROCS=1 taskset -c 0 "$NEW" serve -config "$OUT/ab-new.toml" -log-level warn & pids+=($!)
new_pid=$!
{ unbound_server $UNBOUND_PORT | sed 's/num-threads: 2/num-threads: 1/'; cat <<CONF
  module-config: "iterator"
forward-zone:
  name: "."
  forward-addr: ${UP%:*}@${UP#*:}
CONF
} > "$OUT/ab-unbound.conf"
taskset -c 0 unbound -d -c "$OUT/ab-unbound.conf" & pids+=($!)
unbound_pid=$!

head -n 1000 testdata/top-domains.txt | awk 'NF{print $1" A"}' > "$OUT/ab-hits.txt"
for port in $OLD_PORT $NEW_PORT $UNBOUND_PORT; do
  wait_ready "$port"
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/ab-hits.txt" -n 1 -q 200 >/dev/null 2>&1 || true
done

# qcpu PORT PID: one load; prints the queries answered per CPU-second.
qcpu() {
  local t0 t1 n
  t0=$(cputicks "$2")
  n=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -d "$OUT/ab-hits.txt" -l "$SECONDS_PER_RUN" -q 500 -c 4 -T 1 2>&1 |
    sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p')
  t1=$(cputicks "$2")
  per_cpu_second "$n" $((t1-t0))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", (b>0)?a/b:0}'; }
newold=(); oldu=(); newu=()
for r in $(seq 1 "$ROUNDS"); do
  o=$(qcpu $OLD_PORT $old_pid); n=$(qcpu $NEW_PORT $new_pid); u=$(qcpu $UNBOUND_PORT $unbound_pid)
  newold+=("$(ratio "$n" "$o")"); oldu+=("$(ratio "$o" "$u")"); newu+=("$(ratio "$n" "$u")")
  echo "round $r  queries per CPU-second: old $o, new $n, unbound $u;  new/old ${newold[-1]}  old/unbound ${oldu[-1]}  new/unbound ${newu[-1]}"
done
printf 'medians of %s rounds: new/old %s, old/unbound %s, new/unbound %s\n' "$ROUNDS" \
  "$(printf '%s\n' "${newold[@]}" | median)" "$(printf '%s\n' "${oldu[@]}" | median)" "$(printf '%s\n' "${newu[@]}" | median)"
