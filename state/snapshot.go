package state

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// A snapshot is the workflow in memory written down, with where in the
// journal it stops: start-up reads it and then only the journal's tail,
// so a store of a million records opens in about a second instead of
// decoding every JSON record again. The journal stays the record of
// truth, whole: a snapshot that is missing, damaged, or does not match
// the journal (the journal was repaired or restored from a backup) is
// ignored and the journal read from the start. Gob, not JSON: it decodes
// several times faster, and nobody reads this file but civicdns.

// SnapshotFile is the workflow's snapshot in [state] dir.
const SnapshotFile = "workflow.snapshot"

// snapshotEvery is how many records read or appended since the last
// snapshot make the store write a new one when it closes.
const snapshotEvery = 20000

type snapshot struct {
	Version     int
	Offset      int64  // the journal bytes it covers
	Last        int64  // where the last record it covers starts (-1: none)
	LastSum     uint32 // that record's CRC-32C: the journal is the one it was made from
	Requests    []*RequestState
	Grants      []*GrantState
	Suspensions []*Suspension
	Devices     []*Device
}

const snapshotVersion = 1

// loadSnapshot fills the index from the snapshot when it matches the
// journal, and sets the journal to go on after it. It reports whether it
// did; a snapshot it cannot use is logged and left.
func (s *Store) loadSnapshot(j *journal) bool {
	path := filepath.Join(s.dir, SnapshotFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	snap, err := decodeSnapshot(data)
	if err == nil {
		err = matches(j.path, snap)
	}
	if err != nil {
		s.log.Warn("state: the snapshot is not used; the journal is read from the start", "file", path, "why", err)
		return false
	}
	fi, err := os.Stat(j.path)
	if err != nil {
		return false
	}
	s.idx.load(snap)
	j.resume(idOf(fi), snap.Offset, snap.Last)
	s.snapAt = s.idx.applied
	return true
}

func decodeSnapshot(data []byte) (*snapshot, error) {
	if len(data) < 4 {
		return nil, errors.New("too short")
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errors.New("its checksum does not match")
	}
	var snap snapshot
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&snap); err != nil {
		return nil, err
	}
	if snap.Version != snapshotVersion {
		return nil, fmt.Errorf("version %d", snap.Version)
	}
	return &snap, nil
}

// matches checks that the journal at path holds, where the snapshot says
// its last record starts, that record, ending where the snapshot stops.
func matches(path string, snap *snapshot) error {
	if snap.Last < 0 {
		if snap.Offset != 0 {
			return errors.New("it covers bytes but no record")
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	d := newDecoder(io.NewSectionReader(f, snap.Last, snap.Offset-snap.Last), snap.Last)
	e, err := d.next()
	if err != nil || e.end != snap.Offset || crc32.Checksum(e.data, castagnoli) != snap.LastSum {
		return errors.New("the journal does not hold the record it ends with")
	}
	return nil
}

// writeSnapshot writes the index as it is now: a new file renamed over
// the old one. s.mu is held.
func (s *Store) writeSnapshot(j *journal) error {
	_, off, last := j.position()
	snap := snapshot{Version: snapshotVersion, Offset: off, Last: last,
		Requests: s.idx.st.Requests, Grants: s.idx.st.Grants, Suspensions: s.idx.st.Suspensions, Devices: s.idx.st.Devices}
	if last >= 0 {
		f, err := os.Open(j.path)
		if err != nil {
			return err
		}
		e, err := newDecoder(io.NewSectionReader(f, last, off-last), last).next()
		f.Close()
		if err != nil {
			return err
		}
		snap.LastSum = crc32.Checksum(e.data, castagnoli)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&snap); err != nil {
		return err
	}
	buf.Write(binary.BigEndian.AppendUint32(nil, crc32.Checksum(buf.Bytes(), castagnoli)))
	return replaceFile(filepath.Join(s.dir, SnapshotFile), buf.Bytes())
}

// Close writes a snapshot when enough has happened since the last one
// (the daemon calls it as it shuts down), so the next start reads only
// the journal's tail. A store of files alone; a shared store's database
// is its record.
func (s *Store) Close() error {
	j, ok := s.workflow.(*journal)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx.applied-s.snapAt < snapshotEvery {
		return nil
	}
	if err := s.writeSnapshot(j); err != nil {
		s.log.Warn("state: no snapshot written; the next start reads the whole journal", "err", err)
		return err
	}
	s.snapAt = s.idx.applied
	return nil
}
