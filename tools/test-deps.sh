#!/usr/bin/env bash
# Installs the Debian packages `make test` uses, as tools only: the tests
# start their own throwaway PostgreSQL clusters, NSD, Unbound, Prometheus
# and chromium, so nothing these packages bring may run as a service of the
# machine. While installing, policy-rc.d (Debian's gate for maintainer
# scripts) refuses every service start, recommended packages are left out
# (prometheus would bring node-exporter), PostgreSQL makes no "main"
# cluster, and afterwards every service unit of a package this script
# installed is disabled. Packages that were already there are not touched.
#
# Tools:  dig (dnsutils), certutil (libnss3-tools), chromium,
#         initdb/postgres (postgresql), systemd-analyze (systemd),
#         prometheus/promtool (prometheus), nsd (nsd), unbound (unbound:
#         the local zones are checked against its defaults, side by side),
#         kdig (knot-dnsutils: a DNS-over-TLS and -HTTPS client),
#         dnsperf (dnsperf: a real DoT and DoH load generator),
#         slapd (slapd: a throwaway OpenLDAP directory for director sign-in).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

need=()
have dig || need+=(dnsutils)
have certutil || need+=(libnss3-tools)
have chromium || have chromium-browser || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
have systemd-analyze || need+=(systemd)
{ have promtool && have prometheus; } || need+=(prometheus)
{ have nsd || test -x /usr/sbin/nsd; } || need+=(nsd)
{ have unbound || test -x /usr/sbin/unbound; } || need+=(unbound)
have kdig || need+=(knot-dnsutils)
have dnsperf || need+=(dnsperf)
{ have slapd || test -x /usr/sbin/slapd; } || need+=(slapd)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	exec sudo --preserve-env=PATH bash "$0" "$@"
fi

echo "test-deps: installing ${need[*]} (as tools: no service started or left enabled)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq

# Which packages this run adds (only their services are disabled after).
before=$(mktemp)
dpkg-query -W -f='${Package}\n' | sort >"$before"

policy=/usr/sbin/policy-rc.d
pgconf=/etc/postgresql-common/createcluster.d/civicdns-tests.conf
cleanup() {
	rm -f "$before"
	[ -n "${own_policy:-}" ] && rm -f "$policy"
	[ -n "${own_pgconf:-}" ] && rm -f "$pgconf"
	true
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# civicdns tools/test-deps.sh: no service starts while it installs.\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
if [ ! -e "$pgconf" ]; then
	mkdir -p "$(dirname "$pgconf")"
	echo "create_main_cluster = false" >"$pgconf"
	own_pgconf=1
fi

apt-get install -y -qq --no-install-recommends "${need[@]}"

# Disable every service unit (and System V script) the new packages brought.
# systemd's and D-Bus's own units are the machine's, not services to keep off.
dpkg-query -W -f='${Package}\n' | sort | comm -13 "$before" - | grep -Ev '^(systemd|dbus|udev|libpam-systemd|libnss-systemd)' | while read -r pkg; do
	dpkg -L "$pkg" 2>/dev/null | grep -E '^/(usr/)?lib/systemd/system/[^/]+\.(service|socket|timer)$' || true
done | xargs -r -n1 basename | sort -u | while read -r unit; do
	if have systemctl; then
		systemctl disable --quiet "$unit" 2>/dev/null || true
		if [ -d /run/systemd/system ]; then
			systemctl stop "$unit" 2>/dev/null || true
		fi
	fi
	name=${unit%.*}
	if [ -x "/etc/init.d/$name" ] && have update-rc.d; then
		update-rc.d "$name" disable >/dev/null 2>&1 || true
	fi
done
