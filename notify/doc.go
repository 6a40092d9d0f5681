// Package notify tells people what happened so that nobody has to poll
// the console: a new request mails its department's directors with a
// link, a decision mails the requester, an exemption three days from its
// end mails its approver; the same events go to a webhook as signed JSON.
// Every message is kept in a durable outbox in the state store (shared by
// the instances through PostgreSQL) until the mail server or the webhook
// takes it: a server that is down delays messages, retried with backoff,
// never loses them and never slows DNS or the block page; with several
// instances an instance claims a message before sending it, so each is
// sent once.
package notify
