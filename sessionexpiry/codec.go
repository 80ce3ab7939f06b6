package sessionexpiry

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Codec is an scs.Codec that encodes sessions in a small binary format
// when every value has a plain type (string, []byte, bool, int, int32,
// int64, float64, time.Time: what the gates and most applications store),
// and with encoding/gob, as scs does by default, otherwise. It reads both,
// so sessions written by scs's GobCodec before the switch stay valid.
// Sessions it wrote in its own format can be read only by Codec: to go back
// to GobCodec, wait until they have expired, or accept that their users log
// in again.
//
// Decoding a session is most of what scs's LoadAndSave costs (gob builds a
// decoder and its type tables for every session); with Codec it takes well
// under a microsecond. Set it on the manager before serving:
//
//	sessions.Codec = sessionexpiry.Codec{}
type Codec struct{}

// codecMagic starts a session in Codec's format. A gob stream never starts
// with a zero byte (its first byte is the non-zero length of a message), so
// the two formats cannot be confused.
const codecMagic = "\x00bwk1"

// Value tags of the format.
const (
	tagString byte = iota + 1
	tagBytes
	tagFalse
	tagTrue
	tagInt
	tagInt32
	tagInt64
	tagFloat64
	tagTime
)

var errCorrupt = errors.New("sessionexpiry: Codec: corrupt session data")

// Encode implements scs.Codec.
func (Codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	if y := deadline.Year(); y < 1700 || y > 2200 {
		return scs.GobCodec{}.Encode(deadline, values) // not representable in Unix nanoseconds
	}
	size := len(codecMagic) + 2*binary.MaxVarintLen64
	for k, v := range values {
		size += binary.MaxVarintLen64 + len(k) + 1 + binary.MaxVarintLen64
		switch v := v.(type) {
		case string:
			size += len(v)
		case []byte:
			size += len(v)
		case bool, int, int32, int64, float64:
		case time.Time:
			size += 16
		default:
			return scs.GobCodec{}.Encode(deadline, values)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, codecMagic...)
	b = binary.AppendVarint(b, deadline.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		switch v := v.(type) {
		case string:
			b = append(b, tagString)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, tagBytes)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case bool:
			if v {
				b = append(b, tagTrue)
			} else {
				b = append(b, tagFalse)
			}
		case int:
			b = append(b, tagInt)
			b = binary.AppendVarint(b, int64(v))
		case int32:
			b = append(b, tagInt32)
			b = binary.AppendVarint(b, int64(v))
		case int64:
			b = append(b, tagInt64)
			b = binary.AppendVarint(b, v)
		case float64:
			b = append(b, tagFloat64)
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
		case time.Time:
			t, err := v.MarshalBinary()
			if err != nil {
				return scs.GobCodec{}.Encode(deadline, values)
			}
			b = append(b, tagTime)
			b = binary.AppendUvarint(b, uint64(len(t)))
			b = append(b, t...)
		}
	}
	return b, nil
}

// Decode implements scs.Codec: Codec's format, or gob.
func (Codec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) < len(codecMagic) || string(b[:len(codecMagic)]) != codecMagic {
		return scs.GobCodec{}.Decode(b)
	}
	d := decoder{b: b[len(codecMagic):]}
	deadline := d.varint()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) { // every entry takes 2 bytes at least
		return time.Time{}, nil, errCorrupt
	}
	values := make(map[string]any, n)
	for range n {
		k := d.bytes()
		if d.err != nil || len(d.b) == 0 {
			return time.Time{}, nil, errCorrupt
		}
		tag := d.b[0]
		d.b = d.b[1:]
		var v any
		switch tag {
		case tagString:
			v = string(d.bytes())
		case tagBytes:
			v = append([]byte{}, d.bytes()...)
		case tagFalse:
			v = false
		case tagTrue:
			v = true
		case tagInt:
			x := d.varint()
			if x != int64(int(x)) {
				d.err = errCorrupt
			}
			v = int(x)
		case tagInt32:
			x := d.varint()
			if x != int64(int32(x)) {
				d.err = errCorrupt
			}
			v = int32(x)
		case tagInt64:
			v = d.varint()
		case tagFloat64:
			if len(d.b) < 8 {
				return time.Time{}, nil, errCorrupt
			}
			v = math.Float64frombits(binary.BigEndian.Uint64(d.b))
			d.b = d.b[8:]
		case tagTime:
			var t time.Time
			if err := t.UnmarshalBinary(d.bytes()); err != nil && d.err == nil {
				d.err = errCorrupt
			}
			v = t
		default:
			return time.Time{}, nil, errCorrupt
		}
		if d.err != nil {
			return time.Time{}, nil, errCorrupt
		}
		values[string(k)] = v
	}
	if len(d.b) != 0 {
		return time.Time{}, nil, errCorrupt
	}
	return time.Unix(0, deadline).UTC(), values, nil
}

// decoder reads Codec's format; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) varint() int64   { return readVarint(d, binary.Varint) }
func (d *decoder) uvarint() uint64 { return readVarint(d, binary.Uvarint) }

// readVarint reads one varint with read (binary.Varint or Uvarint).
func readVarint[T int64 | uint64](d *decoder, read func([]byte) (T, int)) T {
	x, n := read(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return x
}

// bytes reads a length-prefixed byte string (aliasing d's buffer).
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}
