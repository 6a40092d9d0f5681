// Package console is the director console on [admin] listen: directors of
// [[director]] sign in with their password and decide on their own
// department's exemption requests (approve with an expiry, a reason and a
// reference; deny), review its exemptions and revoke them. The same
// actions are a JSON API under /api/v1/. A director never sees or acts on
// another department's requests or exemptions, through a page or the API,
// whatever ID they send. Every sign-in and decision goes to the audit trail.
package console
