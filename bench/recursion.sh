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

cat > "$OUT/recursion-civicdns.toml" <<TOML
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
} > "$OUT/recursion-unbound.conf"

start() { # who: starts it with empty caches, waits until it answers
  if [ "$1" = civicdns ]; then
    GOMAXPROCS=2 "$OUT/civicdns" serve -config "$OUT/recursion-civicdns.toml" -log-level warn & server=$!
    port=$CIVIC_PORT
  else
    unbound -d -c "$OUT/recursion-unbound.conf" & server=$!
    port=$UNBOUND_PORT
  fi
  pids+=($server)
  for i in $(seq 1 100); do dig +time=1 +tries=1 @127.0.0.1 -p "$port" ready.zone0.bench A >/dev/null 2>&1 && break; sleep 0.1; done
}

declare -A res
for r in $(seq 1 "$ROUNDS"); do
  for who in civicdns unbound; do
    # The same 100,000 names for both (each starts with empty caches), in a shuffled order.
    awk -v n="$NAMES" 'BEGIN{for(i=0;i<n;i++) printf "h%d.zone%d.bench A\n", int(i/100), i%100}' | shuf --random-source=<(yes) > "$OUT/recursion-names.txt"
    start $who
    for pass in cold warm; do
      dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/recursion-names.txt" -n 1 -l 120 -q 500 -c 4 -T 2 > "$OUT/recursion-$pass-$who-$r.log" 2>&1 || true
      q=$(qps "$OUT/recursion-$pass-$who-$r.log"); res[$pass-$who]+="$q "
      echo "round $r  recursion, $NAMES distinct names, $pass  $who: $q q/s (lost $(lost "$OUT/recursion-$pass-$who-$r.log"))"
    done
    kill $server; wait $server 2>/dev/null || true
  done
done

echo
echo "recursion from a local signed root, DNSSEC validated, median of $ROUNDS rounds:"
for pass in cold warm; do
  c=$(echo ${res[$pass-civicdns]} | tr ' ' '\n' | median); u=$(echo ${res[$pass-unbound]} | tr ' ' '\n' | median)
  printf "  %-5s civicdns %9.0f q/s   unbound %9.0f q/s   ratio %.2f\n" "$pass" "$c" "$u" "$(awk -v a="$c" -v b="$u" 'BEGIN{print (b>0)?a/b:0}')"
done

# The same answers: both running, 200 names (wildcard answers, a plain
# name, NODATA, NXDOMAIN) asked of each, rcode, AD and data compared.
start civicdns; start unbound
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
