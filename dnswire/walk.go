package dnswire

import "encoding/binary"

// TTLOffsets appends to dst the offset of every record's TTL field in msg, a
// packed response, skipping OPT (whose TTL field holds flags). The cache uses
// them to count TTLs down in stored wire bytes without unpacking.
func TTLOffsets(msg []byte, dst []uint16) ([]uint16, error) {
	if len(msg) < headerLen {
		return dst, ErrShort
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	rrs := int(binary.BigEndian.Uint16(msg[6:])) + int(binary.BigEndian.Uint16(msg[8:])) + int(binary.BigEndian.Uint16(msg[10:]))
	off := headerLen
	var err error
	for i := 0; i < qd; i++ {
		if off, err = skipName(msg, off); err != nil {
			return dst, err
		}
		off += 4
	}
	for i := 0; i < rrs; i++ {
		if off, err = skipName(msg, off); err != nil {
			return dst, err
		}
		if off+10 > len(msg) || off > 0xFFFF {
			return dst, ErrFormat
		}
		if binary.BigEndian.Uint16(msg[off:]) != TypeOPT {
			dst = append(dst, uint16(off+4))
		}
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
		if off > len(msg) {
			return dst, ErrFormat
		}
	}
	return dst, nil
}

// QuestionEnd is the offset just past the first question of a message.
func QuestionEnd(msg []byte) (int, error) {
	if len(msg) < headerLen {
		return 0, ErrShort
	}
	off, err := skipName(msg, headerLen)
	if err != nil || off+4 > len(msg) {
		return 0, ErrFormat
	}
	return off + 4, nil
}
