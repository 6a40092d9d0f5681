#!/usr/bin/env bash
# make bench, recursion: civicdns and Unbound both resolving from the root of
# a local signed hierarchy (bench/hierarchy: the root, bench. and 100 leaf
# zones of 1,000 names, each server on port 53 of its own 127.77.x.y address, as recursion
# asks; binding port 53 needs root or CAP_NET_BIND_SERVICE), validating
# DNSSEC from the same trust anchor with the same root hints. Per round,
# each server starts with empty caches and gets 100,000 distinct names once
# (cold), then the same names again (warm); medians and ratios; the answers
# of both compared on a sample. Loopback only; every load bounded (-l).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${BENCH_ROUNDS:-3}
OUT=${BENCH_OUT:-bench/out}
NAMES=${BENCH_RECURSION_NAMES:-100000}
CIVIC_PORT=5401
UNBOUND_PORT=5402
mkdir -p "$OUT"
need dnsperf unbound dig

go build -o "$OUT/civicdns" ./cmd/civicdns
go build -o "$OUT/hierarchy" ./bench/hierarchy

kill_on_exit

H="$OUT/hierarchy-data"
rm -rf "$H"
"$OUT/hierarchy" -out "$H" > "$OUT/hierarchy.log" 2>&1 & pids+=($!)
for i in $(seq 1 600); do [ -s "$H/anchor.ds" ] && break; sleep 0.1; done   # signing takes a few seconds
root=$(awk '$3=="A"{print $4; exit}' "$H/root.hints")
for i in $(seq 1 100); do dig +time=1 +tries=1 +norec @"$root" . SOA >/dev/null 2>&1 && break; sleep 0.1; done

# Two modes: validating DNSSEC from the trust anchor (both), and plain
# recursion (civicdns dnssec = false, Unbound's iterator alone).
cat > "$OUT/recursion-civicdns-validating.toml" <<TOML
[server]
listen = ["127.0.0.1:$CIVIC_PORT"]
udp_sockets = 2
[upstream]
mode = "recursive"
root_hints = "hierarchy-data/root.hints"
trust_anchor = "hierarchy-data/anchor.ds"
[cache]
size = 300000
[metrics]
listen = ""
TOML
{ unbound_server $UNBOUND_PORT; cat <<CONF
  module-config: "validator iterator"
  root-hints: "$PWD/$H/root.hints"
  trust-anchor-file: "$PWD/$H/anchor.ds"
  qname-minimisation: yes
  so-rcvbuf: 4m
  so-sndbuf: 4m
CONF
} > "$OUT/recursion-unbound-validating.conf"
sed 's/^\[cache\]/dnssec = false\n[cache]/' "$OUT/recursion-civicdns-validating.toml" > "$OUT/recursion-civicdns-plain.toml"
sed -e 's/module-config: "validator iterator"/module-config: "iterator"/' -e '/trust-anchor-file/d' "$OUT/recursion-unbound-validating.conf" > "$OUT/recursion-unbound-plain.conf"

start() { # who mode: starts it with empty caches, waits until it answers
  if [ "$1" = civicdns ]; then
    GOMAXPROCS=2 "$OUT/civicdns" serve -config "$OUT/recursion-civicdns-$2.toml" -log-level warn & server=$!
    port=$CIVIC_PORT
  else
    unbound -d -c "$OUT/recursion-unbound-$2.conf" & server=$!
    port=$UNBOUND_PORT
  fi
  pids+=($server)
  for i in $(seq 1 100); do dig +time=1 +tries=1 @127.0.0.1 -p "$port" ready.zone0.bench A >/dev/null 2>&1 && break; sleep 0.1; done
}

declare -A res cps
MODES=${BENCH_RECURSION_MODES:-plain validating}
for mode in $MODES; do
for r in $(seq 1 "$ROUNDS"); do
  order="civicdns unbound"; [ $((r % 2)) = 0 ] && order="unbound civicdns"
  for who in $order; do
    # The same 100,000 names for both (each starts with empty caches), in a shuffled order.
    awk -v n="$NAMES" 'BEGIN{for(i=0;i<n;i++) printf "h%d.zone%d.bench A\n", int(i/100), i%100}' | shuf --random-source=<(yes) > "$OUT/recursion-names.txt"
    start $who $mode
    for pass in cold warm; do
      t0=$(cputicks $server)
      dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/recursion-names.txt" -n 1 -l 120 -q 500 -c 4 -T 2 > "$OUT/recursion-$pass-$who-$r.log" 2>&1 || true
      t1=$(cputicks $server)
      n=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$OUT/recursion-$pass-$who-$r.log")
      q=$(qps "$OUT/recursion-$pass-$who-$r.log"); res[$mode-$pass-$who-$r]=$q
      cps[$mode-$pass-$who-$r]=$(per_cpu_second "$n" $((t1-t0)))
      echo "round $r  recursion ($mode), $NAMES distinct names, $pass  $who: $q q/s, ${cps[$mode-$pass-$who-$r]} per CPU-second (lost $(lost "$OUT/recursion-$pass-$who-$r.log"))"
    done
    kill $server; wait $server 2>/dev/null || true
  done
done
done

echo
echo "recursion from a local signed root, median of $ROUNDS rounds (per-round ratios: median and range):"
for mode in $MODES; do
for pass in cold warm; do
  for m in res cps; do
    declare -n of=$m
    c=$(for r in $(seq 1 "$ROUNDS"); do echo "${of[$mode-$pass-civicdns-$r]}"; done | median)
    u=$(for r in $(seq 1 "$ROUNDS"); do echo "${of[$mode-$pass-unbound-$r]}"; done | median)
    ratios=$(for r in $(seq 1 "$ROUNDS"); do ratio "${of[$mode-$pass-civicdns-$r]}" "${of[$mode-$pass-unbound-$r]}"; echo; done)
    unit="q/s"; [ $m = cps ] && unit="queries per CPU-second"
    printf "  %-10s %-5s civicdns %9.0f   unbound %9.0f %s   ratio %.2f (%s)\n" "$mode" "$pass" "$c" "$u" "$unit" "$(echo "$ratios" | median)" "$(echo "$ratios" | spread)"
    row "recursive, $mode, $pass: $unit" "$c" "$u" "$(echo "$ratios" | median)" "$(echo "$ratios" | spread)"
    unset -n of
  done
done
done

# The same answers: both running, 200 names (wildcard answers, a plain
# name, NODATA, NXDOMAIN) asked of each, rcode, AD and data compared.
start civicdns validating; start unbound validating
diffs=0
for i in $(seq 0 199); do
  case $((i % 4)) in
    0) q="x$i.w.zone$((i % 100)).bench A";;
    1) q="www.zone$((i % 100)).bench A";;
    2) q="zone$((i % 100)).bench MX";;
    3) q="nope-$i.bench A";;
  esac
  a=$(dig +time=2 +tries=1 @127.0.0.1 -p $CIVIC_PORT $q +noall +comments +answer | grep -E 'status|flags|IN' | sed -e 's/id: [0-9]*//' -e 's/\t[0-9]*\tIN/ IN/' -e 's/MSG SIZE.*//' | sort)
  b=$(dig +time=2 +tries=1 @127.0.0.1 -p $UNBOUND_PORT $q +noall +comments +answer | grep -E 'status|flags|IN' | sed -e 's/id: [0-9]*//' -e 's/\t[0-9]*\tIN/ IN/' -e 's/MSG SIZE.*//' | sort)
  if [ "$a" != "$b" ]; then diffs=$((diffs+1)); [ $diffs -le 3 ] && printf 'differs: %s\ncivicdns:\n%s\nunbound:\n%s\n' "$q" "$a" "$b"; fi
done
echo "same answers (rcode, flags, records) for $((200 - diffs)) of 200 sampled questions"
