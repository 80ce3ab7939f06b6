package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// A journal entry is one committed batch, encoded compactly: a version
// byte, the batch time, the distinct policies (each once), the reports
// (their policy by index) and the counters. Strings are a length (uvarint)
// and bytes, integers varints, times Unix microseconds.
const journalVersion = 1

// maxJournalString bounds a decoded string: every value is cut far below
// it by the receiver, so a longer one means a damaged entry.
const maxJournalString = 1 << 20

func encodeBatch(b *cspreport.Batch) []byte {
	size := 16
	var policies []*cspreport.Report // the first report of each policy
	index := map[string]int{}
	for i := range b.Reports {
		r := &b.Reports[i]
		size += 400 + len(r.DocumentURL) + len(r.Blocked) + len(r.Referrer) + len(r.SourceFile) + len(r.Sample) + len(r.UserAgent)
		if _, ok := index[r.PolicyHash]; !ok {
			index[r.PolicyHash] = len(policies)
			policies = append(policies, r)
			size += len(r.Policy) + len(r.PolicyHash) + 8
		}
	}
	p := make([]byte, 0, size)
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

func (d *journalReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.err = errJournal
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *journalReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.p)
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

func decodeBatch(p []byte) (*cspreport.Batch, error) {
	if len(p) == 0 || p[0] != journalVersion {
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
	b.Reports = make([]cspreport.Report, d.count(22))
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
	b.Counters = make([]cspreport.Counter, d.count(3))
	for i := range b.Counters {
		b.Counters[i] = cspreport.Counter{Kind: d.string(), Name: d.string(), Count: d.varint()}
	}
	if d.err == nil && len(d.p) != 0 {
		d.err = fmt.Errorf("%w: %d bytes left over", errJournal, len(d.p))
	}
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}
