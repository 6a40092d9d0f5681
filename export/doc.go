// Package export sends what the city's security team reads to the tools
// it already runs, never slowing DNS: syslog RFC 5424 with structured
// data (client, device, mac, department, name, category, action) over TLS
// (RFC 5425), TCP (RFC 6587 octet counting) or UDP, for Splunk, Graylog
// or Wazuh. Messages wait in a bounded queue; a SIEM that is down is
// reconnected to with backoff and what was queued is sent; what does not
// fit is dropped and counted.
package export
