#!/usr/bin/env bash
# make bench: civicdns and Unbound side by side on the same loopback upstream
# and the same dnsperf loads; prints queries/second and civicdns/Unbound.
# Every load is bounded in time (dnsperf -l). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=${BENCH_OUT:-bench/out}
UP=127.0.0.1:5390
CIVIC_PORT=5391
UNBOUND_PORT=5392
mkdir -p "$OUT"

need dnsperf unbound

go build -o "$OUT/civicdns" ./cmd/civicdns
go build -o "$OUT/upstream" ./bench/upstream

kill_on_exit

# The shared upstream.
"$OUT/upstream" -listen "$UP" & pids+=($!)

# civicdns: 2 UDP sockets (one reader each), GOMAXPROCS 2.
{ civicdns_forwarding $CIVIC_PORT "$UP" 2; echo "${BENCH_CIVIC_EXTRA:-}"; } > "$OUT/civicdns.toml"
GOMAXPROCS=2 "$OUT/civicdns" serve -config "$OUT/civicdns.toml" -log-level warn & pids+=($!)
civic_pid=$!

# The same civicdns with the query log on (day files), to weigh its cost.
CIVICLOG_PORT=5394
rm -rf "$OUT/querylog-on"
sed -e "s/127.0.0.1:$CIVIC_PORT/127.0.0.1:$CIVICLOG_PORT/" "$OUT/civicdns.toml" > "$OUT/civicdns-log.toml"
printf '[log]\ndir = "querylog-on"\n' >> "$OUT/civicdns-log.toml"
GOMAXPROCS=2 "$OUT/civicdns" serve -config "$OUT/civicdns-log.toml" -log-level warn & pids+=($!)
civiclog_pid=$!

# Unbound: 2 threads, forwarding everything to the same upstream, no validation.
{ unbound_server $UNBOUND_PORT; echo "  prefetch: yes"; unbound_forwarding "$UP"; } > "$OUT/unbound.conf"
unbound -d -c "$OUT/unbound.conf" & pids+=($!)
unbound_pid=$!

# Wait until all answer.
for port in $CIVIC_PORT $UNBOUND_PORT $CIVICLOG_PORT; do
  for i in $(seq 1 100); do
    dig +time=1 +tries=1 @127.0.0.1 -p "$port" ready.bench A >/dev/null 2>&1 && break
    sleep 0.1
  done
done

# Workloads. Cache hits: 1,000 real popular names, warmed first.
# Misses: 100,000 distinct names, each asked once.
head -n 1000 testdata/top-domains.txt 2>/dev/null | awk 'NF{print $1" A"}' > "$OUT/hits.txt" || true
[ -s "$OUT/hits.txt" ] || for i in $(seq 1 1000); do echo "host$i.example A"; done > "$OUT/hits.txt"
make_distinct() { awk -v p="$1" 'BEGIN{for(i=0;i<100000;i++) printf "n%d.%s.bench A\n", i, p}' > "$OUT/distinct-$1.txt"; }
# Mixed: 100,000 queries, nine in ten the cached popular names, one in ten
# a name never asked before (a city's day: mostly answered from the cache).
make_mixed() { awk -v p="$1" 'NR==FNR{h[n++]=$0; next} END{for(i=0;i<100000;i++) if (i%10==9) printf "m%d.%s.bench A\n", i, p; else print h[i%n]}' "$OUT/hits.txt" /dev/null > "$OUT/mixed-$1.txt"; }


run() { # name port file extra-args...
  local name=$1 port=$2 file=$3; shift 3
  dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$SECONDS_PER_RUN" -q 500 -c 4 -T 2 "$@" > "$OUT/$name.log" 2>&1 || true
  echo "$(qps "$OUT/$name.log") $(lost "$OUT/$name.log")"
}

for port in $CIVIC_PORT $UNBOUND_PORT $CIVICLOG_PORT; do   # warm the caches with the hit set
  dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -n 1 -q 200 >/dev/null 2>&1 || true
done

declare -A results
# miss who port pid: round $r of 100,000 distinct names, q/s and the
# server's CPU per query (steadier than q/s from one round to the next).
miss() {
  local who=$1 port=$2 pid=$3 t0 t1 n us q l
  t0=$(cputicks "$pid")
  read -r q l < <(run "miss-$who-$r" "$port" "$OUT/distinct-$who$r.txt" -n 1)
  t1=$(cputicks "$pid")
  n=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$OUT/miss-$who-$r.log")
  us=$(awk -v t=$((t1-t0)) -v k="$tck" -v n="${n:-0}" 'BEGIN{printf "%.1f", (n>0)?t/k*1e6/n:0}')
  results[miss-$who]+="$q "
  results[misscpu-$who]+="$us "
  echo "round $r  100k distinct    $who: $q q/s (lost $l), $us us of server CPU per query"
}
for r in $(seq 1 "$ROUNDS"); do
  read -r q l < <(run "hits-civiclog-$r" $CIVICLOG_PORT "$OUT/hits.txt")
  results[hits-civiclog]+="$q "
  echo "round $r  cache hits       civicdns, query log on: $q q/s (lost $l)"
  make_distinct "civiclog$r"
  miss "civiclog" $CIVICLOG_PORT $civiclog_pid
  for who in civicdns unbound; do
    port=$CIVIC_PORT; pid=$civic_pid; [ $who = unbound ] && port=$UNBOUND_PORT && pid=$unbound_pid
    read -r q l < <(run "hits-$who-$r" $port "$OUT/hits.txt")
    results[hits-$who]+="$q "
    echo "round $r  cache hits       $who: $q q/s (lost $l)"
    make_mixed "$who$r"
    read -r q l < <(run "mixed-$who-$r" $port "$OUT/mixed-$who$r.txt" -n 1)
    results[mixed-$who]+="$q "
    echo "round $r  mixed (1 in 10 new) $who: $q q/s (lost $l)"
    make_distinct "$who$r"
    miss $who $port $pid
  done
done

# zipratio A B: the per-round ratios of two lists of figures (round i of A
# over round i of B), one a line.
zipratio() { paste <(echo $1 | tr ' ' '\n') <(echo $2 | tr ' ' '\n') | while read -r a b; do ratio "$a" "$b"; echo; done; }
echo
echo "median of $ROUNDS rounds, $SECONDS_PER_RUN s each, dnsperf -c 4 -T 2 -q 500, loopback (ratio: median of the rounds', and their range)"
for w in hits mixed miss; do
  c=$(echo ${results[$w-civicdns]} | tr ' ' '\n' | median)
  cl=$(echo ${results[$w-civiclog]:-0} | tr ' ' '\n' | median)
  u=$(echo ${results[$w-unbound]} | tr ' ' '\n' | median)
  rs=$(zipratio "${results[$w-civicdns]}" "${results[$w-unbound]}")
  case $w in hits) label="cache hits";; mixed) label="mixed (1 in 10 new)";; miss) label="cold (100k new names)";; esac
  printf "%-22s civicdns %10.0f q/s   unbound %10.0f q/s   ratio %.2f (%s)\n" "$label" "$c" "$u" "$(echo "$rs" | median)" "$(echo "$rs" | spread)"
  row "$label, forwarded, q/s (two cores shared with dnsperf)" "$c" "$u" "$(echo "$rs" | median)" "$(echo "$rs" | spread)"
done
for w in hits miss; do
  rs=$(zipratio "${results[$w-civiclog]}" "${results[$w-civicdns]}")
  label="cache hits"; [ $w = miss ] && label="cold (100k new names)"
  printf "query log on, %s: %.2f of off (%s)\n" "$label" "$(echo "$rs" | median)" "$(echo "$rs" | spread)"
  row "$label with the query log on, q/s (civicdns on / off)" "$(echo ${results[$w-civiclog]} | tr ' ' '\n' | median)" "off: $(printf '%.0f' "$(echo ${results[$w-civicdns]} | tr ' ' '\n' | median)")" "$(echo "$rs" | median)" "$(echo "$rs" | spread)"
done
c=$(echo ${results[misscpu-civicdns]} | tr ' ' '\n' | median); u=$(echo ${results[misscpu-unbound]} | tr ' ' '\n' | median)
rs=$(zipratio "${results[misscpu-unbound]}" "${results[misscpu-civicdns]}")
printf "cold (100k new names): server CPU per query, civicdns %.1f us, unbound %.1f us: %.2f as much work per query (%s)\n" "$c" "$u" "$(echo "$rs" | median)" "$(echo "$rs" | spread)"
row "cold (100k new names), forwarded, queries per CPU-second" "$(awk -v u="$c" 'BEGIN{printf "%.0f", (u>0)?1e6/u:0}')" "$(awk -v u="$u" 'BEGIN{printf "%.0f", (u>0)?1e6/u:0}')" "$(echo "$rs" | median)" "$(echo "$rs" | spread)"
echo "civicdns RSS: $(awk '/VmHWM/{print $2" "$3}' /proc/$civic_pid/status) peak (shipped lists)"

# One core each: the server pinned to CPU 0, dnsperf to CPU 1 (taskset).
# dnsperf on one core is near the server's pace, so besides queries/second
# the work a query costs is measured directly: queries answered per second
# of the server's CPU time (user + system, from /proc). Per-round ratios to
# Unbound, and their median.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_CIVIC=5395; PIN_UNBOUND=5396; PIN_CIVICLOG=5397
  sed -e "s/127.0.0.1:$CIVIC_PORT/127.0.0.1:$PIN_CIVIC/" -e "s/udp_sockets = 2/udp_sockets = 1/" "$OUT/civicdns.toml" > "$OUT/civicdns-pin.toml"
  GOMAXPROCS=1 taskset -c 0 "$OUT/civicdns" serve -config "$OUT/civicdns-pin.toml" -log-level warn & pids+=($!)
  pin_civic=$!
  rm -rf "$OUT/querylog-pin"
  sed -e "s/127.0.0.1:$PIN_CIVIC/127.0.0.1:$PIN_CIVICLOG/" "$OUT/civicdns-pin.toml" > "$OUT/civicdns-pin-log.toml"
  printf '[log]\ndir = "querylog-pin"\n' >> "$OUT/civicdns-pin-log.toml"
  GOMAXPROCS=1 taskset -c 0 "$OUT/civicdns" serve -config "$OUT/civicdns-pin-log.toml" -log-level warn & pids+=($!)
  pin_civiclog=$!
  sed -e "s/$UNBOUND_PORT/$PIN_UNBOUND/g" -e "s/num-threads: 2/num-threads: 1/" "$OUT/unbound.conf" > "$OUT/unbound-pin.conf"
  taskset -c 0 unbound -d -c "$OUT/unbound-pin.conf" & pids+=($!)
  pin_unbound=$!
  for port in $PIN_CIVIC $PIN_CIVICLOG $PIN_UNBOUND; do
    wait_ready "$port"
    taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -n 1 -q 200 >/dev/null 2>&1 || true
  done
  PIN_ROUNDS=${BENCH_PIN_ROUNDS:-5}
  declare -A pin pincpu
  for r in $(seq 1 "$PIN_ROUNDS"); do
    for who in civicdns civiclog unbound; do
      case $who in civicdns) port=$PIN_CIVIC; pid=$pin_civic;; civiclog) port=$PIN_CIVICLOG; pid=$pin_civiclog;; unbound) port=$PIN_UNBOUND; pid=$pin_unbound;; esac
      t0=$(cputicks $pid)
      taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$OUT/hits.txt" -l "$SECONDS_PER_RUN" -q 500 -c 4 -T 1 > "$OUT/pin-$who-$r.log" 2>&1 || true
      t1=$(cputicks $pid)
      n=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$OUT/pin-$who-$r.log")
      pin[$who-$r]=$(qps "$OUT/pin-$who-$r.log")
      pincpu[$who-$r]=$(per_cpu_second "$n" $((t1-t0)))
    done
    echo "round $r  pinned cache hits, queries per CPU-second: civicdns ${pincpu[civicdns-$r]}, query log on ${pincpu[civiclog-$r]}, unbound ${pincpu[unbound-$r]}"
  done
  ratios() { local -n of=$1; for r in $(seq 1 "$PIN_ROUNDS"); do awk -v a="${of[$2-$r]}" -v b="${of[unbound-$r]}" 'BEGIN{print (b>0)?a/b:0}'; done | median; }
  med() { local -n of=$1; for r in $(seq 1 "$PIN_ROUNDS"); do echo "${of[$2-$r]}"; done | median; }
  echo "cache hits, one core each (server on CPU 0, dnsperf on CPU 1), medians of $PIN_ROUNDS rounds:"
  printf "  queries per CPU-second: civicdns %.0f, query log on %.0f, unbound %.0f; per-round ratio to unbound: %.2f (log on %.2f)\n" \
    "$(med pincpu civicdns)" "$(med pincpu civiclog)" "$(med pincpu unbound)" "$(ratios pincpu civicdns)" "$(ratios pincpu civiclog)"
  printf "  queries per second:     civicdns %.0f, query log on %.0f, unbound %.0f; per-round ratio to unbound: %.2f (log on %.2f)\n" \
    "$(med pin civicdns)" "$(med pin civiclog)" "$(med pin unbound)" "$(ratios pin civicdns)" "$(ratios pin civiclog)"
  rng() { local -n of=$1; for r in $(seq 1 "$PIN_ROUNDS"); do ratio "${of[$2-$r]}" "${of[$3-$r]}"; echo; done | spread; }
  row "cache hits, queries per CPU-second, one core (server on CPU 0, dnsperf on CPU 1)" "$(med pincpu civicdns)" "$(med pincpu unbound)" "$(ratios pincpu civicdns)" "$(rng pincpu civicdns unbound)"
  row "cache hits, q/s, one core" "$(med pin civicdns)" "$(med pin unbound)" "$(ratios pin civicdns)" "$(rng pin civicdns unbound)"
  lr=$(for r in $(seq 1 "$PIN_ROUNDS"); do ratio "${pincpu[civiclog-$r]}" "${pincpu[civicdns-$r]}"; echo; done)
  row "cache hits with the query log on, queries per CPU-second, one core (civicdns on / off)" "$(med pincpu civiclog)" "off: $(med pincpu civicdns)" "$(echo "$lr" | median)" "$(echo "$lr" | spread)"
fi

# Part 2: the real lists scaled to 2,000,000 names; memory of the whole
# serving process, and no query lost or failed while the policy is reloaded
# over and over under a dnsperf load.
CIVIC2M_PORT=5393
go run ./bench/scalelist -n 2000000 -out "$OUT/lists2m"
cat > "$OUT/civicdns-2m.toml" <<TOML
[server]
listen = ["127.0.0.1:$CIVIC2M_PORT"]
udp_sockets = 2
[upstream]
servers = ["$UP"]
[metrics]
listen = ""
[lists]
dir = "lists2m"
watch = "0s"
[policy]
block = ["adult", "gambling", "filesharing", "chat", "scaled"]
TOML
start=$(date +%s.%N)
GOMAXPROCS=2 "$OUT/civicdns" serve -config "$OUT/civicdns-2m.toml" -log-level warn & pids+=($!)
c2m=$!
for i in $(seq 1 200); do
  dig +time=1 +tries=1 @127.0.0.1 -p $CIVIC2M_PORT ready.bench A >/dev/null 2>&1 && break
  sleep 0.05
done
ready=$(date +%s.%N)
echo
steady=$(awk '/VmRSS/{print $2}' /proc/$c2m/status)
printf "2M names: serving %.2f s after start; RSS now %s kB, peak %s kB\n" "$(echo "$ready - $start" | bc)" \
  "$steady" "$(awk '/VmHWM/{print $2}' /proc/$c2m/status)"
row "2M listed names: resident memory of the serving process, MB (Unbound column: the target)" "$((steady / 1024))" "< 100" "" ""
row "2M listed names: serving after start, s" "$(printf '%.2f' "$(echo "$ready - $start" | bc)")" "< 1" "" ""
# A mixed load: popular names (some listed) and listed names under the scaled lists.
{ cat "$OUT/hits.txt"; head -n 1000 "$OUT/lists2m/scaled.domains" | awk '{print "www."$1" A"}'; } > "$OUT/mixed.txt"
dnsperf -s 127.0.0.1 -p $CIVIC2M_PORT -d "$OUT/mixed.txt" -n 1 -q 200 >/dev/null 2>&1 || true
dnsperf -s 127.0.0.1 -p $CIVIC2M_PORT -d "$OUT/mixed.txt" -l "$SECONDS_PER_RUN" -q 500 -c 4 -T 2 > "$OUT/reload.log" 2>&1 &
perf_pid=$!
reloads=0
while kill -0 $perf_pid 2>/dev/null; do
  kill -HUP $c2m; reloads=$((reloads+1)); sleep 0.5
done
wait $perf_pid || true
echo "under $reloads reloads (SIGHUP every 0.5 s, 2M names each):"
grep -E "Queries sent|Queries completed|Queries lost|Response codes|Queries per second" "$OUT/reload.log" | sed 's/^ */  /'
peak=$(awk '/VmHWM/{print $2}' /proc/$c2m/status)
printf "  RSS peak over the run: %s kB (%.2f of the steady %s kB)\n" "$peak" "$(ratio "$peak" "$steady")" "$steady"
row "2M listed names: peak over $reloads reloads (SIGHUP, lists unchanged) / steady memory" "$((peak / 1024)) MB" "< 1.5x" "$(ratio "$peak" "$steady")" ""
# A reload with the lists changed builds a second matcher while the first serves.
echo "changed.bench.example" >> "$OUT/lists2m/scaled.domains"
kill -HUP $c2m
blocked=$(dig +short +time=1 +tries=1 @127.0.0.1 -p $CIVIC2M_PORT "www.$(head -n 1 "$OUT/lists2m/scaled.domains")" A)
for i in $(seq 1 100); do [ -n "$blocked" ] && [ "$(dig +short +time=1 +tries=1 @127.0.0.1 -p $CIVIC2M_PORT changed.bench.example A)" = "$blocked" ] && break; sleep 0.1; done
peak2=$(awk '/VmHWM/{print $2}' /proc/$c2m/status)
printf "  a reload with a list changed: RSS peak %s kB (%.2f of steady)\n" "$peak2" "$(ratio "$peak2" "$steady")"
row "2M listed names: peak of a reload with a list changed / steady memory" "$((peak2 / 1024)) MB" "< 1.5x" "$(ratio "$peak2" "$steady")" ""

# Part 3: the query log at a real city's volume (issue 29): BENCH_LOG_DAYS
# days (default 3) of BENCH_LOG_RECORDS (default 20,000,000: 5,000 devices
# with their habits, bench/querylog), recorded and compacted as civicdns
# does but the last, left as the day in progress (its chunk index); civicdns logs against zstdgrep -F over the same files, side by side,
# for a client, a name, and a department's blocked lookups; report over
# every day. The figures per day are what 60 days cost, sixty times over:
# a search reads each day's postings and the blocks they list.
LOG_DAYS=${BENCH_LOG_DAYS:-3}
LOG_RECORDS=${BENCH_LOG_RECORDS:-20000000}
echo
go run ./bench/querylog -dir "$OUT/querylog" -days "$LOG_DAYS" -records "$LOG_RECORDS" | tee "$OUT/querylog-gen.log"
row "query log at $LOG_RECORDS records a day: bytes a record on disk, compacted (target <= 30)" \
  "$(sed -n 's/.*MB on disk compacted, \([0-9.]*\) bytes a record.*/\1/p' "$OUT/querylog-gen.log")" "<= 30" "" ""
row "query log: records a second recording keeps up with, one goroutine (reference: a 3x morning burst)" \
  "$(sed -n 's/.* s: \([0-9]*\) records\/s on one goroutine.*/\1/p' "$OUT/querylog-gen.log")" \
  "$(sed -n 's/.*day is \([0-9]*\)\/s).*/\1/p' "$OUT/querylog-gen.log")" "" "$(sed -n 's/.*); \([0-9]*\) dropped/\1 dropped/p' "$OUT/querylog-gen.log")"
{ printf '[log]\ndir = "querylog"\n'
  i=0; for d in Police Parks Library "Public Works" Finance Fire Clerk; do i=$((i+1)); printf '[[department]]\nname = "%s"\nnetworks = ["192.0.2.%d/32"]\n' "$d" "$i"; done
} > "$OUT/querylog.toml"
sample=$({ zstdcat "$OUT"/querylog/dns-*[0-9].jsonl.zst 2>/dev/null || true; } | head -n 5000 | tail -n 1)
client=$(echo "$sample" | sed 's/.*"client":"\([^"]*\)".*/\1/')
name=$(echo "$sample" | sed 's/.*"name":"\([^"]*\)".*/\1/')
secs() { local s e; s=$(date +%s.%N); "$@" > "$OUT/search.out" || true; e=$(date +%s.%N); echo "$(echo "$e - $s" | bc) $(wc -l < "$OUT/search.out")"; }
for q in client name dept; do
  case $q in
    client) c=(-client "$client"); g="\"client\":\"$client\"";;
    name) c=(-name "$name"); g="$name\"";;
    dept) c=(-department Police -action blocked); g='"department":"Police","name"';;
  esac
  read -r tc nc < <(secs "$OUT/civicdns" logs -config "$OUT/querylog.toml" "${c[@]}")
  if [ $q = dept ]; then
    read -r tg ng < <(secs sh -c "zstdgrep -hF '$g' $OUT/querylog/dns-*[0-9].jsonl.zst $OUT/querylog/dns-*[0-9].jsonl | grep -F '\"action\":\"blocked\"'")
  else
    read -r tg ng < <(secs zstdgrep -hF "$g" "$OUT"/querylog/dns-*[0-9].jsonl.zst "$OUT"/querylog/dns-*[0-9].jsonl)
  fi
  printf "logs %-40s civicdns %6.2f s (%d records)   zstdgrep %6.2f s (%d lines)   %.1fx\n" "${c[*]}" "$tc" "$nc" "$tg" "$ng" "$(awk -v a="$tg" -v b="$tc" 'BEGIN{print (b>0)?a/b:0}')"
  row "query log, $LOG_DAYS days of $LOG_RECORDS: logs ${c[*]} ($nc records), s (Unbound column: zstdgrep -F)" "$(printf '%.2f' "$tc")" "$(printf '%.2f' "$tg")" "$(ratio "$tg" "$tc")" ""
done
for q in client name; do
  c=(-client "$client"); [ $q = name ] && c=(-name "$name")
  read -r tc nc < <(secs "$OUT/civicdns" logs -config "$OUT/querylog.toml" "${c[@]}" -since 24h)
  printf "logs %-40s over the last 24 hours (the day in progress): %6.2f s (%d records)\n" "${c[*]}" "$tc" "$nc"
  row "query log at $LOG_RECORDS a day: logs ${c[*]} -since 24h, the day in progress ($nc records), s (reference: the target)" "$(printf '%.2f' "$tc")" "< 1" "" ""
done
read -r tr nr < <(secs "$OUT/civicdns" report -config "$OUT/querylog.toml" -since "$((LOG_DAYS * 24 + 24))h")
printf "report over %d days: %.2f s\n" "$LOG_DAYS" "$tr"
row "query log, $LOG_DAYS days of $LOG_RECORDS: report over every day, s (reference: the 60-day target)" "$(printf '%.2f' "$tr")" "< 30 for 60 days" "" ""
