// Package listreview ranks the names clients looked up that no category
// holds, by registrable domain and query count, with the evidence an admin
// needs to decide whether one belongs in a category: the category words in
// the name, and a CNAME target or name servers shared with names already
// blocked (white-label casinos and tube sites share their operators'
// platforms). It only informs: nothing is ever blocked by it; an admin adds
// a name with `civicdns lists add`.
package listreview
