#!/usr/bin/env bash
# make bench, encrypted DNS: cache hits over DNS over TLS and DNS over
# HTTPS, civicdns against Unbound (Debian's, built with nghttp2) serving
# the same certificate from the city CA (`civicdns ca issue`), forwarding
# to the same loopback upstream, under the same dnsperf loads. One core
# each: the server pinned to CPU 0 (civicdns GOMAXPROCS=1, Unbound one
# thread), dnsperf to CPU 1; the figure is queries answered per second of
# the server's CPU time (user + system, /proc), per round, and the ratio
# civicdns/Unbound per round with the median and spread of the rounds.
# Loopback only; every load bounded in time (dnsperf -l).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ENC_ROUNDS:-5}
OUT=${BENCH_OUT:-bench/out}/encrypted
UP=127.0.0.1:5490
mkdir -p "$OUT"
need dnsperf unbound taskset
[ "$(nproc)" -ge 2 ] || { echo "bench/encrypted.sh: needs two CPUs (server and dnsperf pinned apart)"; exit 1; }

go build -o "$OUT/civicdns" ./cmd/civicdns
go build -o "$OUT/upstream" ./bench/upstream
rm -rf "$OUT/ca"
"$OUT/civicdns" ca init -dir "$OUT/ca" >/dev/null
"$OUT/civicdns" ca issue -dir "$OUT/ca" -name dns.bench.example -ip 127.0.0.1 >/dev/null

kill_on_exit
"$OUT/upstream" -listen "$UP" & pids+=($!)

cat > "$OUT/civicdns.toml" <<TOML
[server]
listen = ["127.0.0.1:5491"]
udp_sockets = 1
name = "dns.bench.example"
tls_listen = ["127.0.0.1:5853"]
https_listen = ["127.0.0.1:5443"]
tls_cert = "ca/dns.pem"
tls_key = "ca/dns.key"
tcp_max_connections = 1000
[upstream]
servers = ["$UP"]
[cache]
size = 300000
[metrics]
listen = ""
TOML
GOMAXPROCS=1 taskset -c 0 "$OUT/civicdns" serve -config "$OUT/civicdns.toml" -log-level warn & pids+=($!)
civic_pid=$!

{ unbound_server 5492 | sed -e 's/num-threads: 2/num-threads: 1/' -e "s|directory: .*|directory: \"$PWD/$OUT\"|"; cat <<CONF
  interface: 127.0.0.1@5854
  interface: 127.0.0.1@5444
  tls-port: 5854
  https-port: 5444
  tls-service-key: "$PWD/$OUT/ca/dns.key"
  tls-service-pem: "$PWD/$OUT/ca/dns.pem"
  http-endpoint: "/dns-query"
  incoming-num-tcp: 1000
  module-config: "iterator"
forward-zone:
  name: "."
  forward-addr: ${UP%:*}@${UP#*:}
CONF
} > "$OUT/unbound.conf"
taskset -c 0 unbound -d -c "$OUT/unbound.conf" & pids+=($!)
unbound_pid=$!

head -n 1000 testdata/top-domains.txt | awk 'NF{print $1" A"}' > "$OUT/hits.txt"
for port in 5491 5492; do
  wait_ready "$port"
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -n 1 -q 200 >/dev/null 2>&1 || true   # warm the cache
done

# load who mode round: one bounded dnsperf run; prints queries per CPU-second.
# DoH: many connections with one query in flight each, as browsers and
# stub resolvers use it, and because dnsperf 2.10 loses DoH answers that
# arrive together on one connection (DNS-OARC/dnsperf#240).
load() {
  local who=$1 mode=$2 r=$3 port pid args t0 t1 n
  case $who-$mode in
    civicdns-dot) port=5853;; civicdns-doh) port=5443;; unbound-dot) port=5854;; unbound-doh) port=5444;;
  esac
  pid=$civic_pid; [ "$who" = unbound ] && pid=$unbound_pid
  args=(-m "$mode" -c 20 -q 200)
  [ "$mode" = doh ] && args=(-m doh -c 50 -q 50 -O doh-uri=https://dns.bench.example/dns-query)
  t0=$(cputicks "$pid")
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -l "$SECONDS_PER_RUN" "${args[@]}" > "$OUT/$who-$mode-$r.log" 2>&1 || true
  t1=$(cputicks "$pid")
  n=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$OUT/$who-$mode-$r.log")
  per_cpu_second "$n" $((t1-t0))
}

declare -A cps ratio
for r in $(seq 1 "$ROUNDS"); do
  for mode in dot doh; do
    c=$(load civicdns $mode "$r"); u=$(load unbound $mode "$r")
    cps[civicdns-$mode]+="$c "; cps[unbound-$mode]+="$u "
    q=$(awk -v a="$c" -v b="$u" 'BEGIN{printf "%.2f", (b>0)?a/b:0}')
    ratio[$mode]+="$q "
    echo "round $r  $mode cache hits, queries per CPU-second: civicdns $c ($(qps "$OUT/civicdns-$mode-$r.log") q/s, lost $(lost "$OUT/civicdns-$mode-$r.log")), unbound $u ($(qps "$OUT/unbound-$mode-$r.log") q/s, lost $(lost "$OUT/unbound-$mode-$r.log")): $q"
  done
done
echo
echo "encrypted cache hits, one core each, $ROUNDS rounds of $SECONDS_PER_RUN s: queries per CPU-second, civicdns/Unbound per round"
for mode in dot doh; do
  printf "  %s  civicdns %.0f, unbound %.0f (medians); ratio median %.2f, rounds %s\n" "$mode" \
    "$(echo ${cps[civicdns-$mode]} | tr ' ' '\n' | median)" "$(echo ${cps[unbound-$mode]} | tr ' ' '\n' | median)" \
    "$(echo ${ratio[$mode]} | tr ' ' '\n' | median)" "$(echo ${ratio[$mode]} | tr ' ' '\n' | sort -n | tr '\n' ' ')"
  row "cache hits over ${mode^^}, queries per CPU-second, one core" "$(echo ${cps[civicdns-$mode]} | tr ' ' '\n' | median)" \
    "$(echo ${cps[unbound-$mode]} | tr ' ' '\n' | median)" "$(echo ${ratio[$mode]} | tr ' ' '\n' | median)" "$(echo ${ratio[$mode]} | tr ' ' '\n' | spread)"
done
