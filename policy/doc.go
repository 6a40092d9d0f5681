// Package policy compiles the configuration and the category lists into the
// city's Internet-use policy and decides, for a client and a name, whether
// the name is allowed, blocked or exempted, following the precedence of
// DESIGN.md: the client's department (longest network prefix), the blocked
// set (citywide plus the department's own), category matches with their
// allow entries, [policy] allow, then the active exemptions covering the
// client. A decision carries the category, the list file:line and the
// exemption, for answers, logs and the block page.
package policy
