package wire

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// maxDepth is cspreport.DefaultMaxDepth, the depth the receiver allows.
const maxDepth = 8

// The decoder as it was before the single-pass walk (a53b37f): three
// encoding/json passes per batch item. FuzzDecodeSame checks that decode
// gives the same reports and errors for every body.

// decodeStd reads a report body of any shape, decided by the body: an array
// is a Reporting API batch, an object with "csp-report" a legacy report,
// an object with "type" and "body" a single Reporting API report (WebKit).
// Every item of a batch stands alone: one that cannot be read is counted
// and skipped.
func decodeStd(b []byte, maxItems int) (Decoded, error) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) {
		return Decoded{}, errEmptyBody
	}
	switch b[i] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			if _, ok := errors.AsType[*json.SyntaxError](err); ok {
				return Decoded{}, ErrSyntax
			}
			return Decoded{}, errShape
		}
		if len(items) > maxItems {
			return Decoded{}, ErrTooMany
		}
		var d Decoded
		for _, it := range items {
			var e envelope
			if json.Unmarshal(it, &e) != nil {
				d.Invalid++
				continue
			}
			r, ok := fromEnvelopeStd(&e, "report-to")
			if !ok {
				d.Invalid++
				continue
			}
			r.Src = it
			d.Reports = append(d.Reports, r)
		}
		return d, nil
	case '{':
		// One pass: a legacy report is decoded straight into its struct.
		var e struct {
			envelope
			CSPReport *legacyBody `json:"csp-report"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			if _, ok := errors.AsType[*json.SyntaxError](err); ok {
				return Decoded{}, ErrSyntax
			}
			return Decoded{}, errShape
		}
		if e.CSPReport != nil {
			r := fromLegacy(e.CSPReport)
			r.Src = b[i:]
			return Decoded{Reports: []Report{r}}, nil
		}
		r, ok := fromEnvelopeStd(&e.envelope, "report-to-single")
		if !ok {
			return Decoded{}, errShape
		}
		r.Src = b[i:]
		return Decoded{Reports: []Report{r}}, nil
	}
	if !json.Valid(b) {
		return Decoded{}, ErrSyntax
	}
	return Decoded{}, errShape
}

func fromEnvelopeStd(e *envelope, format string) (Report, bool) {
	if e.Type == "" || len(bytes.TrimSpace(e.Body)) == 0 || e.Body[0] != '{' {
		return Report{}, false
	}
	r := Report{Format: format, Type: string(e.Type), Age: int(e.Age), URL: string(e.URL), UserAgent: string(e.UserAgent)}
	if r.Type != TypeCSP {
		r.Body = e.Body
		return r, true
	}
	var a apiBody
	if json.Unmarshal(e.Body, &a) != nil {
		return Report{}, false
	}
	r.Document = cmp.Or(string(a.DocumentURL), string(a.DocumentURLSnake), r.URL)
	r.Referrer = string(a.Referrer)
	r.Blocked = cmp.Or(string(a.BlockedURL), string(a.BlockedURLSnake))
	r.Effective = cmp.Or(string(a.EffectiveDirective), string(a.EffectiveSnake))
	r.Policy = cmp.Or(string(a.OriginalPolicy), string(a.OriginalSnake))
	r.SourceFile = cmp.Or(string(a.SourceFile), string(a.SourceSnake))
	r.Sample = string(a.Sample)
	r.Disposition = string(a.Disposition)
	r.Status = int(max(a.StatusCode, a.StatusSnake))
	r.Line = int(max(a.LineNumber, a.LineSnake))
	r.Column = int(max(a.ColumnNumber, a.ColumnSnake))
	return r, true
}

// FuzzDecodeSame: decode reads every body as decodeStd (encoding/json)
// does: the same error, the same reports, the same invalid items.
func FuzzDecodeSame(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if CheckDepth(b, maxDepth) != nil {
			return
		}
		got, err := Decode(b, 5)
		want, werr := decodeStd(b, 5)
		if err != werr {
			t.Fatalf("%q: error %v, want %v", b, err, werr)
		}
		if got.Invalid != want.Invalid || len(got.Reports) != len(want.Reports) {
			t.Fatalf("%q: %d reports, %d invalid; want %d, %d", b, len(got.Reports), got.Invalid, len(want.Reports), want.Invalid)
		}
		for i := range got.Reports {
			g, w := got.Reports[i], want.Reports[i]
			if !bytes.Equal(g.Src, w.Src) || !bytes.Equal(g.Body, w.Body) {
				t.Fatalf("%q: report %d: src %q body %q, want %q %q", b, i, g.Src, g.Body, w.Src, w.Body)
			}
			g.Src, g.Body, w.Src, w.Body = nil, nil, nil, nil
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("%q: report %d:\n%+v\nwant\n%+v", b, i, g, w)
			}
		}
	})
}

var decodeSeeds = []string{
	`{"csp-report":{"document-uri":"https://a.example/x?y#z","blocked-uri":"data:xx","violated-directive":"img-src 'self'","line-number":"7"}}`,
	`[{"type":"csp-violation","url":"https://a.example/","body":{"blockedURL":"inline","effectiveDirective":"script-src-elem","lineNumber":null}},{"type":"deprecation","body":{}},1]`,
	`{"type":"csp-violation","body":{"documentURL":"about:blank","sample":"\u0000"}}`,
	`[[[[[[[[[[]]]]]]]]]]`,
	` [ {"age" : 3 , "TYPE":"csp-violation","body" : { "Document_URL" : "https://b/\u00e9" , "lineNumber":1e3,"x":[1,{"a":"]"}]}} , null , "s" , {"type":"csp-violation","body":{"sample":1}} ] `,
	`{"csp-report":{"document-uri":"a"},"csp-report":{"blocked-uri":"b"}}`,
	`{"csp-report":{"document-uri":"a"},"csp-report":null,"type":"x","body":{}}`,
	`{"csp-report":"x"}`,
	`{"csp\u002dreport":{"Blocked-URI":"https://c/\"q\"","status-code":"200","column-number":-1}}`,
	`{"age":{},"csp-report":{}}`,
	`[{"type":"csp-violation","body":{"statusCode":"1.5e2","sourceFile":null,"blocked_url":"x","blockedURL":""}},{"type":"","body":{}},{"type":"a","body":[]}]`,
	`[1,2,3,4,5,6]`,
	`"x"`, `nul`, `{"a":1,}`, ``, `  `,
}

// TestDecodeSame runs FuzzDecodeSame's seeds and the corpus.
func TestDecodeSeedsSame(t *testing.T) {
	for _, s := range decodeSeeds {
		_, err := Decode([]byte(s), 5)
		_, werr := decodeStd([]byte(s), 5)
		if err != werr {
			t.Errorf("%q: error %v, want %v", s, err, werr)
		}
	}
}

// FuzzValidSame: validJSON accepts what json.Valid accepts, nothing else.
func FuzzValidSame(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{`-0.5e+7`, `01`, `1.`, `"\u12G4"`, `"\ud800"`, "\"\x01\"", `[1,]`, `{"a" 1}`, `{,}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, `truefalse`, ` null `, "\xff", `{"a":{"b":[]},"c":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// BenchmarkValid: validJSON against json.Valid, checkDepth against
// checkDepthStd, on the benchmark's
// legacy body and the corpus' Chrome batch.
func BenchmarkValid(b *testing.B) {
	bodies := map[string][]byte{"legacy": []byte(benchLegacy)}
	for _, dir := range []string{os.Getenv("BULWARK_TESTDATA"), "../../../../shared/testdata"} {
		if body, err := os.ReadFile(filepath.Join(dir, "csp-reports", "chromium-report-to-batch-inline-and-urls.json")); dir != "" && err == nil {
			bodies["batch3"] = body
			break
		}
	}
	for name, body := range bodies {
		b.Run(name+"/validJSON", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if !validJSON(body) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(name+"/checkDepth", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if CheckDepth(body, maxDepth) != nil {
					b.Fatal("too deep")
				}
			}
		})
		b.Run(name+"/checkDepthStd", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if checkDepthStd(body, maxDepth) != nil {
					b.Fatal("too deep")
				}
			}
		})
		b.Run(name+"/json.Valid", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if !json.Valid(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

const benchLegacy = `{"csp-report":{"document-uri":"https://shop.example/account/42/orders?page=2","referrer":"https://shop.example/","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"default-src 'self'; script-src 'self' 'nonce-abc' https://cdn.example; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; report-uri /csp-report","disposition":"enforce","blocked-uri":"https://evil.example/x.js","line-number":12,"column-number":34,"source-file":"https://shop.example/static/app.js","status-code":200,"script-sample":""}}`

// checkDepthStd is the first checkDepth: it reports whether the JSON text b nests objects and arrays at
// most max levels deep. It does not validate b: the decoder does that.
func checkDepthStd(b []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return errTooDeep
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// FuzzDepthSame: checkDepth answers as checkDepthStd for every text.
func FuzzDepthSame(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s), 3)
	}
	f.Add([]byte(`["\\\"[[[[", [[[["\\"]]]]]`), 4)
	f.Add([]byte(`"[[[[\"`), 1)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if got, want := CheckDepth(b, max), checkDepthStd(b, max); got != want {
			t.Fatalf("CheckDepth(%q, %d) = %v, want %v", b, max, got, want)
		}
	})
}
