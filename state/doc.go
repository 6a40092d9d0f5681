// Package state is the durable store of the exemption workflow, in
// [state] dir: the requests employees send from the block page, the
// directors' approvals, denials and revocations, and the audit trail.
//
// Each is an append-only journal of JSON records, one a line, each line
// ending with its CRC-32 so that a record torn by a crash is recognised and
// skipped (and cut off before the next append) while every earlier record
// stays readable. A record is fsync'd before the writer is told it is
// stored. Writers in several processes (the server, two CLIs) take an
// exclusive flock on the journal for the read-append cycle, so they never
// interleave. The current state is the journal replayed; a city's
// workflow is thousands of records, not millions.
package state
