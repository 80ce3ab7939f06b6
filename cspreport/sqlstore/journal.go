package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// A journal entry is one saved [cspreport.Batch]: a version byte, the
// hash of the batch's schema (the names and kinds of its rows' fields),
// then each exported field of the batch in order, by reflection: strings
// as a length (uvarint) and bytes, integers as varints, booleans as a
// byte, times as Unix microseconds, slices as a count and their items,
// structs as their exported fields. A new field of a row is journaled
// without a line here; an entry of another schema (left by a version
// whose rows had other fields) is refused, with the fix, rather than
// misread.
const journalVersion = 3

// maxJournalString bounds a decoded string: every value is cut far below
// it by the receiver, so a longer one means a damaged entry.
const maxJournalString = 1 << 20

var (
	batchType = reflect.TypeFor[cspreport.Batch]()
	timeType  = reflect.TypeFor[time.Time]()
	schema    = schemaHash(batchType)
)

// schemaHash hashes the names and kinds of t's exported fields, depth
// first.
func schemaHash(t reflect.Type) uint32 {
	h := fnv.New32a()
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(h, "%s(", t.Kind())
		switch {
		case t == timeType:
		case t.Kind() == reflect.Slice:
			walk(t.Elem())
		case t.Kind() == reflect.Struct:
			for i := range t.NumField() {
				if f := t.Field(i); f.IsExported() {
					fmt.Fprintf(h, "%s:", f.Name)
					walk(f.Type)
				}
			}
		}
		h.Write([]byte(")"))
	}
	walk(t)
	return h.Sum32()
}

// errOldJournal is the error of an entry written by an older version.
var errOldJournal = errors.New("the journal holds entries of an older version of bulwark: " +
	"open the database once with that version (bulwark reports -db …) to fold them, then start this one")

// appendBatch appends the entry of b to p.
func appendBatch(p []byte, b *cspreport.Batch) []byte {
	p = append(p, journalVersion)
	p = binary.AppendUvarint(p, uint64(schema))
	return encodeBatch(p, reflect.ValueOf(b).Elem())
}

// An encoder appends a value of one type; encodeBatch is the Batch's,
// built once from its type so that a commit costs no reflection on
// types, only on values.
type encoder func(p []byte, v reflect.Value) []byte

var encodeBatch = encoderOf(batchType)

func encoderOf(t reflect.Type) encoder {
	switch {
	case t == timeType:
		return func(p []byte, v reflect.Value) []byte {
			return binary.AppendVarint(p, v.Addr().Interface().(*time.Time).UnixMicro())
		}
	case t.Kind() == reflect.String:
		return func(p []byte, v reflect.Value) []byte {
			p = binary.AppendUvarint(p, uint64(v.Len()))
			return append(p, v.String()...)
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return func(p []byte, v reflect.Value) []byte { return binary.AppendVarint(p, v.Int()) }
	case t.Kind() == reflect.Bool:
		return func(p []byte, v reflect.Value) []byte {
			if v.Bool() {
				return append(p, 1)
			}
			return append(p, 0)
		}
	case t.Kind() == reflect.Slice:
		elem := encoderOf(t.Elem())
		return func(p []byte, v reflect.Value) []byte {
			p = binary.AppendUvarint(p, uint64(v.Len()))
			for i := range v.Len() {
				p = elem(p, v.Index(i))
			}
			return p
		}
	case t.Kind() == reflect.Struct:
		type field struct {
			index int
			enc   encoder
		}
		var fields []field
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				fields = append(fields, field{i, encoderOf(t.Field(i).Type)})
			}
		}
		return func(p []byte, v reflect.Value) []byte {
			for _, f := range fields {
				p = f.enc(p, v.Field(f.index))
			}
			return p
		}
	}
	panic("cspreport/sqlstore: journal: no encoding for " + t.String()) // at init: every test of the package fails
}

var errJournal = errors.New("damaged journal entry")

// journalReader decodes an entry; the first error sticks.
type journalReader struct {
	p   []byte
	err error
}

func (d *journalReader) uvarint() uint64 { return next(d, binary.Uvarint) }

func (d *journalReader) varint() int64 { return next(d, binary.Varint) }

// next reads a number with read (binary.Uvarint or binary.Varint).
func next[T uint64 | int64](d *journalReader, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.p)
	if n <= 0 {
		d.err = errJournal
		return 0
	}
	d.p = d.p[n:]
	return v
}

// bytes reads n bytes.
func (d *journalReader) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.p)) {
		d.err = errJournal
		return nil
	}
	b := d.p[:n]
	d.p = d.p[n:]
	return b
}

func (d *journalReader) value(v reflect.Value) {
	if d.err != nil {
		return
	}
	switch v.Kind() {
	case reflect.String:
		n := d.uvarint()
		if n > maxJournalString {
			d.err = errJournal
			return
		}
		v.SetString(string(d.bytes(n)))
	case reflect.Int, reflect.Int64:
		v.SetInt(d.varint())
	case reflect.Bool:
		b := d.bytes(1)
		v.SetBool(len(b) == 1 && b[0] == 1)
	case reflect.Slice:
		// Every item takes a byte at least.
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.p)) {
			d.err = errJournal
			return
		}
		if n == 0 {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), int(n), int(n)))
		for i := range int(n) {
			d.value(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.UnixMicro(d.varint()).UTC()))
			return
		}
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				d.value(v.Field(i))
			}
		}
	}
}

// decodeBatch decodes an entry of appendBatch.
func decodeBatch(p []byte) (*cspreport.Batch, error) {
	if len(p) == 0 || p[0] > journalVersion {
		return nil, fmt.Errorf("%w: unknown version", errJournal)
	}
	if p[0] < journalVersion {
		return nil, errOldJournal
	}
	d := &journalReader{p: p[1:]}
	if h := d.uvarint(); d.err == nil && h != uint64(schema) {
		return nil, errOldJournal
	}
	b := &cspreport.Batch{}
	d.value(reflect.ValueOf(b).Elem())
	if d.err == nil && len(d.p) != 0 {
		d.err = fmt.Errorf("%w: %d bytes left over", errJournal, len(d.p))
	}
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}
