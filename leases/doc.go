// Package leases reads the city's DHCP servers' own lease data, so that a
// query log record names the device that held the client's address when
// the query was answered (60 days later the address is someone else's):
// Kea's memfile CSV (v4 and v6), ISC dhcpd.leases, dnsmasq's lease file
// and the Windows DHCP server's audit log. A Table is immutable; a
// Watcher re-reads the files within seconds of a change and swaps a new
// one in, keeping a file's last good leases when it cannot be read.
package leases
