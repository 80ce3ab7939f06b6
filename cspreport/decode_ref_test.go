package cspreport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The decoder as it was before the single-pass walk (a53b37f): three
// encoding/json passes per batch item. FuzzDecodeSame checks that decode
// gives the same reports and errors for every body.

// decodeStd reads a report body of any shape, decided by the body: an array
// is a Reporting API batch, an object with "csp-report" a legacy report,
// an object with "type" and "body" a single Reporting API report (WebKit).
// Every item of a batch stands alone: one that cannot be read is counted
// and skipped.
func decodeStd(b []byte, maxItems int) (decoded, error) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) {
		return decoded{}, errEmptyBody
	}
	switch b[i] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			if _, ok := errors.AsType[*json.SyntaxError](err); ok {
				return decoded{}, errSyntax
			}
			return decoded{}, errShape
		}
		if len(items) > maxItems {
			return decoded{}, errTooMany
		}
		var d decoded
		for _, it := range items {
			var e envelope
			if json.Unmarshal(it, &e) != nil {
				d.invalid++
				continue
			}
			r, ok := fromEnvelopeStd(&e, "report-to")
			if !ok {
				d.invalid++
				continue
			}
			r.src = it
			d.reports = append(d.reports, r)
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
				return decoded{}, errSyntax
			}
			return decoded{}, errShape
		}
		if e.CSPReport != nil {
			r := fromLegacy(e.CSPReport)
			r.src = b[i:]
			return decoded{reports: []raw{r}}, nil
		}
		r, ok := fromEnvelopeStd(&e.envelope, "report-to-single")
		if !ok {
			return decoded{}, errShape
		}
		r.src = b[i:]
		return decoded{reports: []raw{r}}, nil
	}
	if !json.Valid(b) {
		return decoded{}, errSyntax
	}
	return decoded{}, errShape
}

func fromEnvelopeStd(e *envelope, format string) (raw, bool) {
	if e.Type == "" || len(bytes.TrimSpace(e.Body)) == 0 || e.Body[0] != '{' {
		return raw{}, false
	}
	r := raw{format: format, typ: string(e.Type), age: int(e.Age), url: string(e.URL), userAgent: string(e.UserAgent)}
	if r.typ != typeCSP {
		r.body = e.Body
		return r, true
	}
	var a apiBody
	if json.Unmarshal(e.Body, &a) != nil {
		return raw{}, false
	}
	r.document = first(string(a.DocumentURL), string(a.DocumentURLSnake), r.url)
	r.referrer = string(a.Referrer)
	r.blocked = first(string(a.BlockedURL), string(a.BlockedURLSnake))
	r.effective = first(string(a.EffectiveDirective), string(a.EffectiveSnake))
	r.policy = first(string(a.OriginalPolicy), string(a.OriginalSnake))
	r.sourceFile = first(string(a.SourceFile), string(a.SourceSnake))
	r.sample = string(a.Sample)
	r.disposition = string(a.Disposition)
	r.status = int(max(a.StatusCode, a.StatusSnake))
	r.line = int(max(a.LineNumber, a.LineSnake))
	r.col = int(max(a.ColumnNumber, a.ColumnSnake))
	return r, true
}

// FuzzDecodeSame: decode reads every body as decodeStd (encoding/json)
// does: the same error, the same reports, the same invalid items.
func FuzzDecodeSame(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkDepth(b, DefaultMaxDepth) != nil {
			return
		}
		got, err := decode(b, 5)
		want, werr := decodeStd(b, 5)
		if err != werr {
			t.Fatalf("%q: error %v, want %v", b, err, werr)
		}
		if got.invalid != want.invalid || len(got.reports) != len(want.reports) {
			t.Fatalf("%q: %d reports, %d invalid; want %d, %d", b, len(got.reports), got.invalid, len(want.reports), want.invalid)
		}
		for i := range got.reports {
			g, w := got.reports[i], want.reports[i]
			if !bytes.Equal(g.src, w.src) || !bytes.Equal(g.body, w.body) {
				t.Fatalf("%q: report %d: src %q body %q, want %q %q", b, i, g.src, g.body, w.src, w.body)
			}
			g.src, g.body, w.src, w.body = nil, nil, nil, nil
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
		_, err := decode([]byte(s), 5)
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
	if body, err := os.ReadFile("../../shared/testdata/csp-reports/chromium-report-to-batch-inline-and-urls.json"); err == nil {
		bodies["batch3"] = body
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
				if checkDepth(body, DefaultMaxDepth) != nil {
					b.Fatal("too deep")
				}
			}
		})
		b.Run(name+"/checkDepthStd", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if checkDepthStd(body, DefaultMaxDepth) != nil {
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

// fpParts is the fingerprint as it was first written: SHA-256 of the
// parts, each followed by a NUL byte, the first 16 bytes in hex.
func fpParts(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// TestFingerprintsSame: groupFP and detailFP give the stored values of
// the first formula (long values, samples, negative and large numbers).
func TestFingerprintsSame(t *testing.T) {
	long := strings.Repeat("https://a.example/x", 200)
	for _, r := range []Report{
		{},
		{Directive: "script-src-elem", BlockedKind: "url", BlockedOrigin: "https://evil.example", DocumentOrigin: "https://shop.example", DocumentPath: "/a/:id", Disposition: "enforce", SourceFile: "https://shop.example/app.js", Line: 12, Column: 34},
		{Directive: "style-src", BlockedKind: "inline", BlockedOrigin: "inline", DocumentOrigin: long, DocumentPath: long, Disposition: "report", SourceFile: long, Line: math.MaxInt32, Column: -1, Sample: "alert(1)\x00é"},
	} {
		r.GroupFP = groupFP(&r)
		if want := fpParts(r.Directive, r.BlockedKind, r.BlockedOrigin, r.DocumentOrigin+r.DocumentPath, r.Disposition); r.GroupFP != want {
			t.Errorf("groupFP %s, want %s", r.GroupFP, want)
		}
		if got, want := detailFP(&r), fpParts(r.GroupFP, r.SourceFile, strconv.Itoa(r.Line), strconv.Itoa(r.Column), hashHex(r.Sample)); got != want {
			t.Errorf("detailFP %s, want %s", got, want)
		}
	}
	if hashHex("") != emptySHA256 {
		t.Error("emptySHA256")
	}
}

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
		if got, want := checkDepth(b, max), checkDepthStd(b, max); got != want {
			t.Fatalf("checkDepth(%q, %d) = %v, want %v", b, max, got, want)
		}
	})
}
