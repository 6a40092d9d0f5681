package devices

// Device is an enrolled device as a query needs it.
type Device struct {
	ID         string
	Name       string // what the admin called it ("patrol car 12"): the query log's device
	Department string // whose policy it gets, wherever it is
	DeptKey    string // config.DepartmentKey(Department): looked up without a copy per query
	Key        Key
}

// Table is an immutable index of the enrolled devices not revoked, by
// key. A nil Table knows no device.
type Table struct {
	byKey map[Key]*Device
}

// NewTable indexes list.
func NewTable(list []*Device) *Table {
	t := &Table{byKey: make(map[Key]*Device, len(list))}
	for _, d := range list {
		t.byKey[d.Key] = d
	}
	return t
}

// Lookup returns the device of a key, or nil (unknown or revoked).
func (t *Table) Lookup(k Key) *Device {
	if t == nil {
		return nil
	}
	return t.byKey[k]
}

// Len is how many devices are enrolled.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byKey)
}
