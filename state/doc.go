// Package state is the durable store of the exemption workflow, in
// [state] dir: the requests employees send from the block page, the
// directors' approvals, denials and revocations, and the audit trail.
//
// Each is an append-only journal of JSON records, one a line, each with
// its length and its CRC-32C (see frame.go), so that a record torn by a
// crash (it runs past the end of the file) is recognised, logged and cut
// off before the next append, while any other damage stops the store with
// the file and byte offset (`civicdns state verify`, `state repair`). A
// record is fsync'd before the writer is told it is stored. Writers in
// several processes (the server, two CLIs) take an exclusive flock on the
// journal for the read-append cycle, so they never interleave.
//
// The workflow lives in memory, indexed (index.go): the journal is read
// whole once, at start, and after that a read or an append handles only
// the records written since (by this process, a CLI, or another instance
// through PostgreSQL), so a lookup costs the same with 100 or 100,000
// records.
package state
