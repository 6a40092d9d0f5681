// Package query is what every stage of the query path and every sink of
// its records shares, without depending on the server: the Query on its way
// through the chain, the Stage interface and its contract, the Record each
// answered query leaves for the metrics and the query log, and the writers
// of every kind of answer (errors, blocks, stored answers).
package query
