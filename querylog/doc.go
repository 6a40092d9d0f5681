// Package querylog records every answered query for the monitoring the
// city's policy reserves: one JSON object a line, one file a day in
// [log] dir.
//
// Recording never stalls answering: Logger.Record copies the query's
// record into a preallocated batch under a short lock (no allocation), and
// a writer goroutine swaps the batch out, encodes it and appends it to the
// day's file, flushing at least every second and at shutdown. When the
// writer cannot keep up (a stalled disk) and the batch is full, records are
// dropped, counted in civicdns_querylog_records_total{result="dropped"}
// and logged once a minute: never silently.
package querylog
