#!/usr/bin/env bash
# make deb: a Debian package of civicdns (the binary with its lists built
# in, the systemd unit, a starting configuration, the alert rules and the
# dashboard, the list sources and licences), built with dpkg-deb.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${VERSION:-0.1.0}
ARCH=$(dpkg --print-architecture)
OUT=${OUT:-bin}
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
chmod 0755 "$ROOT"
install -d "$ROOT/DEBIAN" "$ROOT/usr/bin" "$ROOT/lib/systemd/system" "$ROOT/etc/civicdns" \
	"$ROOT/usr/share/doc/civicdns" "$ROOT/usr/share/civicdns"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$ROOT/usr/bin/civicdns" ./cmd/civicdns
install -m 0644 deploy/civicdns.service "$ROOT/lib/systemd/system/civicdns.service"
install -m 0640 deploy/debian/civicdns.toml "$ROOT/etc/civicdns/civicdns.toml"
install -m 0755 deploy/debian/postinst deploy/debian/prerm "$ROOT/DEBIAN/"
cp -r deploy/prometheus deploy/grafana "$ROOT/usr/share/civicdns/"
install -m 0644 README.md LICENSE blocklists/data/SOURCES.md deploy/debian/copyright "$ROOT/usr/share/doc/civicdns/"
cp -r docs "$ROOT/usr/share/doc/civicdns/"
# The shipped category lists (also built into the binary): to read, or to
# copy into a [lists] dir of the city's own and edit.
install -d "$ROOT/usr/share/civicdns/blocklists/data"
install -m 0644 blocklists/*.toml "$ROOT/usr/share/civicdns/blocklists/"
install -m 0644 blocklists/data/* "$ROOT/usr/share/civicdns/blocklists/data/"
# An example of every section, that check accepts as it is once `ca init`
# has made its CA (it reads the shipped lists from /usr/share/civicdns).
install -d "$ROOT/usr/share/doc/civicdns/examples"
sed 's#^dir = "../blocklists" #dir = "/usr/share/civicdns/blocklists"#' testdata/civicdns.example.toml > "$ROOT/usr/share/doc/civicdns/examples/civicdns.example.toml"
echo /etc/civicdns/civicdns.toml > "$ROOT/DEBIAN/conffiles"
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: civicdns
Version: $VERSION
Architecture: $ARCH
Maintainer: civicdns <civicdns@example.invalid>
Depends: adduser
Section: net
Priority: optional
Description: filtering DNS resolver for city networks
 civicdns answers every lookup on a city network, enforces the city's
 Internet-use policy at the DNS layer (citywide and per department, with
 director-approved exemptions), explains every block on a block page, and
 keeps the query log the policy requires.
CONTROL
mkdir -p "$OUT"
dpkg-deb --root-owner-group --build "$ROOT" "$OUT/civicdns_${VERSION}_${ARCH}.deb" >/dev/null
echo "$OUT/civicdns_${VERSION}_${ARCH}.deb"
