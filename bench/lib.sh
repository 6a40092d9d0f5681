# Shared by bench/bench.sh and bench/recursion.sh (sourced, not run).

# need TOOL...: stop at once when a tool is missing (make bench-deps installs them).
need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make bench-deps, or apt-get install dnsperf unbound dnsutils)"; exit 1; }
  done
}

# kill_on_exit: every process whose PID the script adds to pids is killed
# when the script ends, however it ends.
kill_on_exit() {
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
}

# unbound_server PORT: the server: clause both benchmarks give Unbound (2
# threads, caches sized for the loads, loopback allowed and queried); the
# caller appends what differs (forwarding, or recursion and validation).
unbound_server() {
  cat <<CONF
server:
  interface: 127.0.0.1@$1
  port: $1
  num-threads: 2
  so-reuseport: yes
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  chroot: ""
  username: ""
  directory: "$PWD/$OUT"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  msg-cache-size: 64m
  rrset-cache-size: 128m
  num-queries-per-thread: 4096
  outgoing-range: 8192
CONF
}

# civicdns_forwarding PORT UPSTREAM SOCKETS: a civicdns.toml listening on
# 127.0.0.1:PORT with SOCKETS UDP sockets, forwarding to UPSTREAM, a cache
# sized for the loads, no metrics listener.
civicdns_forwarding() {
  printf '[server]\nlisten = ["127.0.0.1:%s"]\nudp_sockets = %s\n[upstream]\nservers = ["%s"]\n[cache]\nsize = 300000\n[metrics]\nlisten = ""\n' "$1" "$3" "$2"
}

# unbound_forwarding UPSTREAM: what Unbound's configuration adds after
# unbound_server's clause to forward everything to UPSTREAM, unvalidated.
unbound_forwarding() {
  printf '  module-config: "iterator"\nforward-zone:\n  name: "."\n  forward-addr: %s@%s\n' "${1%:*}" "${1#*:}"
}

# dnsperf's figures from its output file, and the median of numbers on stdin.
qps() { sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p' "$1"; }
lost() { sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p' "$1"; }
median() { sort -n | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

# cputicks PID: a process's CPU time (user + system) in clock ticks (tck a
# second), from /proc.
cputicks() { awk '{print $14+$15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)

# wait_ready PORT: until the DNS server on 127.0.0.1:PORT answers (10 s at most).
wait_ready() {
  for _ in $(seq 1 100); do dig +time=1 +tries=1 @127.0.0.1 -p "$1" ready.bench A >/dev/null 2>&1 && return; sleep 0.1; done
}

# per_cpu_second N TICKS: N queries answered in TICKS of a server's CPU
# time, as queries per CPU-second.
per_cpu_second() { awk -v n="${1:-0}" -v t="$2" -v k="$tck" 'BEGIN{printf "%.0f", (t>0)?n/(t/k):0}'; }

# The final table (bench/table.sh): each script adds its rows to one file.
# row LABEL CIVICDNS UNBOUND RATIO SPREAD: a figure of civicdns, Unbound's
# from the same run ("" when there is none), the median of the per-round
# ratios and their range ("0.95-1.10 over 5").
RESULTS=${BENCH_RESULTS:-${BENCH_OUT:-bench/out}/results.tsv}
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$RESULTS"; }

# spread: the range of the numbers on stdin, and how many ("0.95-1.10 over 5").
spread() { sort -g | awk '{a[NR]=$1} END{ if (NR) printf "%.2f-%.2f over %d", a[1], a[NR], NR }'; }

# ratio A B: A/B to two places (0 when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b>0)?a/b:0}'; }
