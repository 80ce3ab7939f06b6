package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// A journal entry is one committed batch, encoded compactly: a version
// byte, the batch time, the distinct policies (each once), the reports
// (their policy by index), the counters and, from version 2 on, the raw
// events and the reports of other types. Strings are a length (uvarint)
// and bytes, integers varints, times Unix microseconds. Entries of
// version 1 (written before raw events existed) are still read.
const journalVersion = 2

// maxJournalString bounds a decoded string: every value is cut far below
// it by the receiver, so a longer one means a damaged entry.
const maxJournalString = 1 << 20

func encodeBatch(b *cspreport.Batch) []byte { return appendBatch(nil, b) }

// appendBatch appends the entry of b to p.
func appendBatch(p []byte, b *cspreport.Batch) []byte {
	size := 16
	var policies []*cspreport.Report // the first report of each policy
	index := map[string]int{}
	for i := range b.Reports {
		r := &b.Reports[i]
		size += 200 + len(r.DocumentURL) + len(r.Blocked) + len(r.Referrer) + len(r.SourceFile) + len(r.Sample) + len(r.UserAgent)
		if _, ok := index[r.PolicyHash]; !ok {
			index[r.PolicyHash] = len(policies)
			policies = append(policies, r)
			size += len(r.Policy) + len(r.PolicyHash) + 8
		}
	}
	for _, e := range b.Events {
		size += len(e.Raw) + 90
	}
	for _, o := range b.Other {
		size += len(o.Body) + len(o.URL) + len(o.UserAgent) + 120
	}
	p = slices.Grow(p, size)
	p = append(p, journalVersion)
	p = binary.AppendVarint(p, b.At.UnixMicro())
	p = binary.AppendUvarint(p, uint64(len(policies)))
	for _, r := range policies {
		p = appendString(p, r.PolicyHash)
		p = appendString(p, r.Policy)
	}
	p = binary.AppendUvarint(p, uint64(len(b.Reports)))
	for i := range b.Reports {
		r := &b.Reports[i]
		for _, s := range [...]string{r.GroupFP, r.DetailFP, r.Format, r.Directive, r.Disposition, r.BlockedKind,
			r.BlockedOrigin, r.Blocked, r.DocumentURL, r.DocumentOrigin, r.DocumentPath, r.Referrer, r.SourceFile,
			r.Sample, r.PolicyVersion, r.UserAgent, r.ClientPrefix} {
			p = appendString(p, s)
		}
		p = binary.AppendUvarint(p, uint64(index[r.PolicyHash]))
		for _, n := range [...]int64{int64(r.Line), int64(r.Column), int64(r.StatusCode), r.ReceivedAt.UnixMicro(), r.OccurredAt.UnixMicro()} {
			p = binary.AppendVarint(p, n)
		}
	}
	p = binary.AppendUvarint(p, uint64(len(b.Counters)))
	for _, c := range b.Counters {
		p = appendString(p, c.Kind)
		p = appendString(p, c.Name)
		p = binary.AppendVarint(p, c.Count)
	}
	p = binary.AppendUvarint(p, uint64(len(b.Events)))
	for _, e := range b.Events {
		p = appendString(p, e.GroupFP)
		p = appendString(p, e.DetailFP)
		p = binary.AppendVarint(p, e.ReceivedAt.UnixMicro())
		p = appendString(p, e.Raw)
	}
	p = binary.AppendUvarint(p, uint64(len(b.Other)))
	for _, o := range b.Other {
		for _, s := range [...]string{o.Type, o.URL, o.UserAgent, o.ClientPrefix, o.Body} {
			p = appendString(p, s)
		}
		p = binary.AppendVarint(p, o.ReceivedAt.UnixMicro())
	}
	return p
}

func appendString(p []byte, s string) []byte {
	p = binary.AppendUvarint(p, uint64(len(s)))
	return append(p, s...)
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

func (d *journalReader) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > maxJournalString || n > uint64(len(d.p)) {
		d.err = errJournal
		return ""
	}
	s := string(d.p[:n])
	d.p = d.p[n:]
	return s
}

// count reads a number of items, each at least min bytes long.
func (d *journalReader) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.p)/min) {
		d.err = errJournal
		return 0
	}
	return int(n)
}

// sized is a slice of n items, nil for none.
func sized[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
}

func decodeBatch(p []byte) (*cspreport.Batch, error) {
	if len(p) == 0 || p[0] < 1 || p[0] > journalVersion {
		return nil, fmt.Errorf("%w: unknown version", errJournal)
	}
	d := &journalReader{p: p[1:]}
	micro := func(v int64) time.Time { return time.UnixMicro(v).UTC() }
	b := &cspreport.Batch{At: micro(d.varint())}
	hashes := make([]string, d.count(2))
	texts := make([]string, len(hashes))
	for i := range hashes {
		hashes[i], texts[i] = d.string(), d.string()
	}
	b.Reports = sized[cspreport.Report](d.count(22))
	for i := range b.Reports {
		r := &b.Reports[i]
		for _, s := range [...]*string{&r.GroupFP, &r.DetailFP, &r.Format, &r.Directive, &r.Disposition, &r.BlockedKind,
			&r.BlockedOrigin, &r.Blocked, &r.DocumentURL, &r.DocumentOrigin, &r.DocumentPath, &r.Referrer, &r.SourceFile,
			&r.Sample, &r.PolicyVersion, &r.UserAgent, &r.ClientPrefix} {
			*s = d.string()
		}
		if k := d.uvarint(); k < uint64(len(hashes)) {
			r.PolicyHash, r.Policy = hashes[k], texts[k]
		} else {
			d.err = errJournal
		}
		r.Line, r.Column, r.StatusCode = int(d.varint()), int(d.varint()), int(d.varint())
		r.ReceivedAt, r.OccurredAt = micro(d.varint()), micro(d.varint())
	}
	b.Counters = sized[cspreport.Counter](d.count(3))
	for i := range b.Counters {
		b.Counters[i] = cspreport.Counter{Kind: d.string(), Name: d.string(), Count: d.varint()}
	}
	if p[0] >= 2 {
		b.Events = sized[cspreport.Event](d.count(4))
		for i := range b.Events {
			b.Events[i] = cspreport.Event{GroupFP: d.string(), DetailFP: d.string(), ReceivedAt: micro(d.varint()), Raw: d.string()}
		}
		b.Other = sized[cspreport.OtherReport](d.count(6))
		for i := range b.Other {
			b.Other[i] = cspreport.OtherReport{Type: d.string(), URL: d.string(), UserAgent: d.string(),
				ClientPrefix: d.string(), Body: d.string(), ReceivedAt: micro(d.varint())}
		}
	}
	if d.err == nil && len(d.p) != 0 {
		d.err = fmt.Errorf("%w: %d bytes left over", errJournal, len(d.p))
	}
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}
