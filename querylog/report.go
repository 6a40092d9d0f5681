package querylog

import "sort"

// Report is one department's figures over a time span: what `civicdns
// report` prints and the weekly mail sends.
type Report struct {
	Lookups, Blocked, Exempted, Local int
	ByCategory                        map[string]int // blocked lookups by category
	Names, Clients                    map[string]int // blocked lookups by name, by client
	Devices                           map[string]int // blocked lookups by device (the lease's or roaming device's name)
}

// Reports are the reports by department ("(citywide)" for clients of none).
type Reports map[string]*Report

// Citywide is the department name of clients in no department.
const Citywide = "(citywide)"

// Add counts one record.
func (rs Reports) Add(e *Entry) {
	d := e.Department
	if d == "" {
		d = Citywide
	}
	r := rs.of(d)
	r.Lookups++
	switch e.Action {
	case "blocked":
		r.Blocked++
		r.ByCategory[e.Category]++
		r.Names[e.Name]++
		r.Clients[e.Client]++
		if e.Device != "" {
			r.Devices[e.Device]++
		}
	case "exempted":
		r.Exempted++
	case "local":
		r.Local++
	}
}

// of is department d's report, made empty when there is none yet.
func (rs Reports) of(d string) *Report {
	r := rs[d]
	if r == nil {
		r = &Report{ByCategory: map[string]int{}, Names: map[string]int{}, Clients: map[string]int{}, Devices: map[string]int{}}
		rs[d] = r
	}
	return r
}

// Departments are the reports' departments in order.
func (rs Reports) Departments() []string {
	out := make([]string, 0, len(rs))
	for d := range rs {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// KeyCount is a name (or client, or category) and its count.
type KeyCount struct {
	Key   string
	Count int
}

// Top is m's n largest counts, largest first (ties by key).
func Top(m map[string]int, n int) []KeyCount {
	out := make([]KeyCount, 0, len(m))
	for k, c := range m {
		out = append(out, KeyCount{k, c})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Count > out[j].Count || out[i].Count == out[j].Count && out[i].Key < out[j].Key
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
