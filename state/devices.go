package state

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/devices"
)

// Device is a roaming city device enrolled by token (`civicdns devices
// add`, or an admin in the console). Only the token's hash is kept: the
// token is shown once, when it is made, and cannot be read back.
type Device struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Department string    `json:"department"`
	TokenHash  string    `json:"token_sha256"` // devices.Key in hexadecimal
	By         string    `json:"by"`
	Time       time.Time `json:"time"`
	Revoked    bool      `json:"revoked,omitempty"`
	RevokedBy  string    `json:"revoked_by,omitempty"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Enrolled is a device just added, with its token: the only time it is known.
type Enrolled struct {
	*Device
	Token string
}

// MaxDeviceName bounds a device's name: it is shown in the query log and the console.
const MaxDeviceName = 100

// AddDevice enrolls a device of department dept, durably and audited, and
// returns it with its new token. A name already used by a device of the
// department not revoked is refused: the query log would not tell them apart.
func (s *Store) AddDevice(dept, name, by, from string) (*Enrolled, error) {
	name, dept = strings.TrimSpace(name), strings.TrimSpace(dept)
	if name == "" || dept == "" || strings.TrimSpace(by) == "" {
		return nil, errors.New("a device needs a department, a name and who adds it")
	}
	if err := bounded("device name", name, MaxDeviceName, "who", by, MaxName); err != nil {
		return nil, err
	}
	token := devices.NewToken()
	now := s.now()
	dev := &Device{ID: newID("D-"), Name: name, Department: dept, TokenHash: devices.KeyOf(token).String(), By: by, Time: now}
	ev := &AuditEvent{Time: now, Who: by, From: from, Action: "device-add", What: fmt.Sprintf("device %s %q of %s", dev.ID, name, dept)}
	err := s.appendRecord(func(x *index) (record, error) {
		for _, d := range x.st.Devices {
			if !d.Revoked && config.DepartmentKey(d.Department) == config.DepartmentKey(dept) && strings.EqualFold(d.Name, name) {
				return record{}, &InputError{fmt.Sprintf("%s already has a device named %q (%s): revoke it first or choose another name", dept, name, d.ID)}
			}
		}
		return record{Time: now, Kind: "device-add", By: by, From: from, Device: dev, Audit: ev}, nil
	})
	if err != nil {
		return nil, err
	}
	return &Enrolled{Device: copyOf(dev), Token: token}, nil
}

// RevokeDevice ends a device's token at once (on every instance within
// the store's refresh: a second).
func (s *Store) RevokeDevice(id, by, from string) error {
	return s.appendRecord(func(x *index) (record, error) {
		d := x.devices[id]
		switch {
		case d == nil:
			return record{}, ErrNotFound
		case d.Revoked:
			return record{}, fmt.Errorf("device %s was already revoked by %s", id, d.RevokedBy)
		}
		now := s.now()
		return record{Time: now, Kind: "device-revoke", ID: id, By: by, From: from,
			Audit: &AuditEvent{Time: now, Who: by, From: from, Action: "device-revoke", What: fmt.Sprintf("device %s %q of %s", id, d.Name, d.Department)}}, nil
	})
}

// Device returns a copy of the device with that ID, or nil.
func (s *Store) Device(id string) (*Device, error) {
	var out *Device
	err := s.read(func(x *index) { out = copyOf(x.devices[id]) })
	return out, err
}

// Devices returns copies of up to n devices of dept ("": every
// department), newest first, revoked ones included.
func (s *Store) Devices(dept string, n int) ([]*Device, error) {
	var out []*Device
	err := s.read(func(x *index) {
		if dept == "" {
			out = newest(x.st.Devices, n)
			return
		}
		out = newest(x.deptDevices[deptKey(dept)], n)
	})
	return out, err
}

// PolicyDevices are the devices not revoked, as a query looks them up.
func (s *Store) PolicyDevices() ([]*devices.Device, error) {
	var out []*devices.Device
	err := s.read(func(x *index) { out = x.st.PolicyDevices() })
	return out, err
}

// PolicyDevices are the devices not revoked, as a query looks them up.
func (st *State) PolicyDevices() []*devices.Device {
	var out []*devices.Device
	for _, d := range st.Devices {
		k, ok := devices.ParseKey(d.TokenHash)
		if d.Revoked || !ok {
			continue
		}
		out = append(out, &devices.Device{ID: d.ID, Name: d.Name, Department: d.Department, DeptKey: deptKey(d.Department), Key: k})
	}
	return out
}

// applyDevice makes a device record's change in the index.
func (x *index) applyDevice(r *record) {
	switch r.Kind {
	case "device-add":
		if d := r.Device; d != nil && x.devices[d.ID] == nil {
			x.addDevice(d)
		}
	case "device-revoke":
		if d := x.devices[r.ID]; d != nil {
			d.Revoked, d.RevokedBy, d.RevokedAt = true, r.By, r.Time
		}
	}
}

func (x *index) addDevice(d *Device) {
	x.st.Devices = append(x.st.Devices, d)
	x.devices[d.ID] = d
	k := deptKey(d.Department)
	x.deptDevices[k] = append(x.deptDevices[k], d)
}
