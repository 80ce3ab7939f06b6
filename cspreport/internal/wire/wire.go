// Package wire reads the JSON bodies browsers send to a CSP report
// endpoint into [Report] values, as sent: package cspreport cleans them.
package wire

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// Decoding errors: ErrSyntax for a body that is not JSON, ErrTooMany for
// a batch of more than maxItems items, others for a body of another shape.
var (
	ErrSyntax    = errors.New("malformed JSON")
	ErrTooMany   = errors.New("too many reports in one batch")
	errTooDeep   = errors.New("nesting too deep")
	errShape     = errors.New("not a report: want {\"csp-report\":…}, a Reporting API array, or {\"type\":…,\"body\":…}")
	errEmptyBody = errors.New("empty body")
)

// CheckDepth reports whether the JSON text b nests objects and arrays at
// most max levels deep. It does not validate b: the decoder does that.
// Strings are skipped whole (stringEnd), not byte by byte.
func CheckDepth(b []byte, max int) error {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			end, _ := stringEnd(b, i)
			i = end - 1
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

// str is a JSON string that may also be null or absent.
type str string

func (s *str) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = ""
		return nil
	}
	// The common case, decoded without a second pass of encoding/json: a
	// string (the decoder has checked its syntax) without escapes, in
	// valid UTF-8, is its bytes.
	if len(b) >= 2 && b[0] == '"' && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b[1:len(b)-1]) {
		*s = str(b[1 : len(b)-1])
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("want a string")
	}
	*s = str(v)
	return nil
}

// num is a JSON integer that browsers send as a number, a numeric string
// ("200") or null; absent and null are 0. Values are clamped to
// [0, MaxInt32].
type num int

func (n *num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = 0
		return nil
	}
	if len(b) > 0 && len(b) < 10 && b[0] != '-' {
		// The common case: a small non-negative integer.
		if v, err := strconv.Atoi(string(b)); err == nil {
			*n = num(v)
			return nil
		}
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*n = 0
			return nil
		}
		b = []byte(s)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("want a number")
	}
	*n = num(max(0, min(f, math.MaxInt32)))
	return nil
}

// legacyBody is the body of {"csp-report": …} (report-uri), in the keys
// of CSP2/CSP3's deprecated serialisation.
type legacyBody struct {
	DocumentURI        str `json:"document-uri"`
	Referrer           str `json:"referrer"`
	ViolatedDirective  str `json:"violated-directive"`
	EffectiveDirective str `json:"effective-directive"`
	OriginalPolicy     str `json:"original-policy"`
	Disposition        str `json:"disposition"`
	BlockedURI         str `json:"blocked-uri"`
	LineNumber         num `json:"line-number"`
	ColumnNumber       num `json:"column-number"`
	SourceFile         str `json:"source-file"`
	StatusCode         num `json:"status-code"`
	ScriptSample       str `json:"script-sample"`
}

// apiBody is a CSPViolationReportBody (report-to). The snake_case keys of
// the spec's examples are read too.
type apiBody struct {
	DocumentURL        str `json:"documentURL"`
	DocumentURLSnake   str `json:"document_url"`
	Referrer           str `json:"referrer"`
	BlockedURL         str `json:"blockedURL"`
	BlockedURLSnake    str `json:"blocked_url"`
	EffectiveDirective str `json:"effectiveDirective"`
	EffectiveSnake     str `json:"effective_directive"`
	OriginalPolicy     str `json:"originalPolicy"`
	OriginalSnake      str `json:"original_policy"`
	SourceFile         str `json:"sourceFile"`
	SourceSnake        str `json:"source_file"`
	Sample             str `json:"sample"`
	Disposition        str `json:"disposition"`
	StatusCode         num `json:"statusCode"`
	StatusSnake        num `json:"status_code"`
	LineNumber         num `json:"lineNumber"`
	LineSnake          num `json:"line_number"`
	ColumnNumber       num `json:"columnNumber"`
	ColumnSnake        num `json:"column_number"`
}

// envelope is a Reporting API report; its body is decoded by type.
type envelope struct {
	Age       num             `json:"age"`
	Type      str             `json:"type"`
	URL       str             `json:"url"`
	UserAgent str             `json:"user_agent"`
	Body      json.RawMessage `json:"body"`
}

// Report is one report read from a body, nothing cleaned or bounded;
// absent and null are zero, numbers clamped to [0, MaxInt32].
type Report struct {
	Format               string // "report-uri", "report-to" or "report-to-single"
	Type                 string // report type; TypeCSP for a CSP violation
	Age                  int    // milliseconds between the violation and the send
	URL                  string
	UserAgent            string
	Document             string
	Referrer             string
	Violated             string
	Effective            string
	Policy               string
	Disposition          string
	Blocked              string
	SourceFile           string
	Sample               string
	Line, Column, Status int
	// Src is the report's JSON as received (the legacy object or the
	// batch element), for raw events; Body is the Reporting API body, for
	// reports of other types. Both may alias the decoded body.
	Src, Body []byte
}

// Decoded is what a body holds: the reports, and the batch items that
// could not be read (a single report that cannot be read is an error).
type Decoded struct {
	Reports []Report
	Invalid int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Decode reads a report body of any shape, decided by the body: an array
// is a Reporting API batch, an object with "csp-report" a legacy report,
// an object with "type" and "body" a single Reporting API report (WebKit).
// Every item of a batch stands alone: one that cannot be read is counted
// and skipped.
//
// The body is validated once (validJSON), then walked once: each field's
// value goes to the same UnmarshalJSON as encoding/json would call, keys
// are matched as encoding/json matches them (exactly, else without case),
// and a value of the wrong type makes its item unreadable, as it did with
// encoding/json (decodeStd in the tests is that decoder, for comparison).
func Decode(b []byte, maxItems int) (Decoded, error) { return DecodeInto(nil, b, maxItems) }

// DecodeInto is Decode with the reports appended to dst[:0], whose memory
// the caller reuses from request to request.
func DecodeInto(dst []Report, b []byte, maxItems int) (Decoded, error) {
	i := skipSpace(b, 0)
	if i == len(b) {
		return Decoded{}, errEmptyBody
	}
	if !validJSON(b) {
		return Decoded{}, ErrSyntax
	}
	switch b[i] {
	case '[':
		d := Decoded{Reports: dst[:0]}
		n := 0
		i = skipSpace(b, i+1)
		for b[i] != ']' {
			end := valueEnd(b, i)
			if n++; n > maxItems {
				return Decoded{}, ErrTooMany
			}
			it := b[i:end]
			if r, ok := decodeItem(it, "report-to"); ok {
				r.Src = it
				d.Reports = append(d.Reports, r)
			} else {
				d.Invalid++
			}
			i = skipSpace(b, end)
			if b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
		return d, nil
	case '{':
		// One pass: a legacy report is decoded straight into its struct.
		var (
			e   envelope
			l   *legacyBody
			bad bool
		)
		eachField(b, i, func(key []byte, v []byte) {
			switch matchKey(key, envelopeKeys[:]) {
			case "csp-report":
				switch v[0] {
				case 'n': // null
					l = nil
				case '{':
					if l == nil {
						l = new(legacyBody)
					}
					eachField(v, 0, func(key []byte, v []byte) {
						if f := l.field(matchKey(key, legacyKeys[:])); f != nil && f.UnmarshalJSON(v) != nil {
							bad = true
						}
					})
				default:
					bad = true
				}
			default:
				if !e.set(key, v) {
					bad = true
				}
			}
		})
		if bad {
			return Decoded{}, errShape
		}
		if l != nil {
			r := fromLegacy(l)
			r.Src = b[i:]
			return Decoded{Reports: append(dst[:0], r)}, nil
		}
		r, ok := fromEnvelope(&e, "report-to-single")
		if !ok {
			return Decoded{}, errShape
		}
		r.Src = b[i:]
		return Decoded{Reports: append(dst[:0], r)}, nil
	}
	return Decoded{}, errShape
}

// decodeItem reads one element of a batch.
func decodeItem(it []byte, format string) (Report, bool) {
	if it[0] != '{' {
		return Report{}, false // null, or a value of another type
	}
	var e envelope
	ok := true
	eachField(it, 0, func(key []byte, v []byte) {
		if !e.set(key, v) {
			ok = false
		}
	})
	if !ok {
		return Report{}, false
	}
	return fromEnvelope(&e, format)
}

var (
	envelopeKeys = [...]string{"age", "type", "url", "user_agent", "body", "csp-report"}
	legacyKeys   = [...]string{"document-uri", "referrer", "violated-directive", "effective-directive", "original-policy",
		"disposition", "blocked-uri", "line-number", "column-number", "source-file", "status-code", "script-sample"}
	apiKeys = [...]string{"documentURL", "document_url", "referrer", "blockedURL", "blocked_url", "effectiveDirective",
		"effective_directive", "originalPolicy", "original_policy", "sourceFile", "source_file", "sample", "disposition",
		"statusCode", "status_code", "lineNumber", "line_number", "columnNumber", "column_number"}
)

// matchKey returns the name of names that key stands for, as encoding/json
// matches a key to a field: the same name, else the first equal without
// regard to case (bytes.EqualFold); "" when none.
func matchKey(key []byte, names []string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return n
		}
	}
	return ""
}

// set decodes the envelope's field key from v; false when v is not of
// the field's type. Unknown keys are skipped.
func (e *envelope) set(key []byte, v []byte) bool {
	var f json.Unmarshaler
	switch matchKey(key, envelopeKeys[:5]) {
	case "age":
		f = &e.Age
	case "type":
		f = &e.Type
	case "url":
		f = &e.URL
	case "user_agent":
		f = &e.UserAgent
	case "body":
		e.Body = v
		return true
	default:
		return true
	}
	return f.UnmarshalJSON(v) == nil
}

func (l *legacyBody) field(name string) json.Unmarshaler {
	switch name {
	case "document-uri":
		return &l.DocumentURI
	case "referrer":
		return &l.Referrer
	case "violated-directive":
		return &l.ViolatedDirective
	case "effective-directive":
		return &l.EffectiveDirective
	case "original-policy":
		return &l.OriginalPolicy
	case "disposition":
		return &l.Disposition
	case "blocked-uri":
		return &l.BlockedURI
	case "line-number":
		return &l.LineNumber
	case "column-number":
		return &l.ColumnNumber
	case "source-file":
		return &l.SourceFile
	case "status-code":
		return &l.StatusCode
	case "script-sample":
		return &l.ScriptSample
	}
	return nil
}

func (a *apiBody) field(name string) json.Unmarshaler {
	switch name {
	case "documentURL":
		return &a.DocumentURL
	case "document_url":
		return &a.DocumentURLSnake
	case "referrer":
		return &a.Referrer
	case "blockedURL":
		return &a.BlockedURL
	case "blocked_url":
		return &a.BlockedURLSnake
	case "effectiveDirective":
		return &a.EffectiveDirective
	case "effective_directive":
		return &a.EffectiveSnake
	case "originalPolicy":
		return &a.OriginalPolicy
	case "original_policy":
		return &a.OriginalSnake
	case "sourceFile":
		return &a.SourceFile
	case "source_file":
		return &a.SourceSnake
	case "sample":
		return &a.Sample
	case "disposition":
		return &a.Disposition
	case "statusCode":
		return &a.StatusCode
	case "status_code":
		return &a.StatusSnake
	case "lineNumber":
		return &a.LineNumber
	case "line_number":
		return &a.LineSnake
	case "columnNumber":
		return &a.ColumnNumber
	case "column_number":
		return &a.ColumnSnake
	}
	return nil
}

// The walk below reads JSON that validJSON has accepted: it checks
// nothing, and never reads past the end of b.

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index after the string that starts at b[i] ('"'),
// and whether it holds an escape.
func stringEnd(b []byte, i int) (int, bool) {
	i++
	j := bytes.IndexByte(b[i:], '"')
	if j < 0 {
		return len(b), false
	}
	if bytes.IndexByte(b[i:i+j], '\\') < 0 {
		return i + j + 1, false
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return len(b), true
}

// valueEnd returns the index after the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return len(b)
}

// eachField calls f with each member of the object that starts at b[i]
// ('{'): its key, unquoted, and its value's JSON.
func eachField(b []byte, i int, f func(key []byte, v []byte)) {
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		kend, esc := stringEnd(b, i)
		key := b[i+1 : kend-1]
		if esc {
			var k string
			json.Unmarshal(b[i:kend], &k) //nolint:errcheck // valid JSON
			key = []byte(k)
		}
		i = skipSpace(b, kend)
		i = skipSpace(b, i+1) // ':'
		vend := valueEnd(b, i)
		f(key, b[i:vend])
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

func fromLegacy(l *legacyBody) Report {
	return Report{
		Format: "report-uri", Type: TypeCSP,
		Document: string(l.DocumentURI), Referrer: string(l.Referrer),
		Violated: string(l.ViolatedDirective), Effective: string(l.EffectiveDirective),
		Policy: string(l.OriginalPolicy), Disposition: string(l.Disposition),
		Blocked: string(l.BlockedURI), SourceFile: string(l.SourceFile),
		Sample: string(l.ScriptSample),
		Line:   int(l.LineNumber), Column: int(l.ColumnNumber), Status: int(l.StatusCode),
	}
}

// TypeCSP is the report type of a CSP violation.
const TypeCSP = "csp-violation"

func fromEnvelope(e *envelope, format string) (Report, bool) {
	if e.Type == "" || len(bytes.TrimSpace(e.Body)) == 0 || e.Body[0] != '{' {
		return Report{}, false
	}
	r := Report{Format: format, Type: string(e.Type), Age: int(e.Age), URL: string(e.URL), UserAgent: string(e.UserAgent)}
	if r.Type != TypeCSP {
		r.Body = e.Body
		return r, true
	}
	var a apiBody
	ok := true
	eachField(e.Body, 0, func(key, v []byte) {
		if f := a.field(matchKey(key, apiKeys[:])); f != nil && f.UnmarshalJSON(v) != nil {
			ok = false
		}
	})
	if !ok {
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

// validJSON reports whether b is one JSON value, as json.Valid does, in one
// loop without recursion: the nesting it follows is bounded (deeper text,
// which checkDepth refuses before, goes to json.Valid).
func validJSON(b []byte) bool {
	var stack [32]byte // '{' or '[' of each open container
	n := 0
	i := skipSpace(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false
		}
		switch c := b[i]; c {
		case '{', '[':
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' or ']'
				i++
				break
			}
			if n == len(stack) {
				return json.Valid(b)
			}
			stack[n] = c
			n++
			if c == '{' {
				var ok bool
				if i, ok = validKey(b, i); !ok {
					return false
				}
			}
			continue
		case '"':
			var ok bool
			if i, ok = validString(b, i); !ok {
				return false
			}
		case 't':
			if !bytes.HasPrefix(b[i:], []byte("true")) {
				return false
			}
			i += 4
		case 'f':
			if !bytes.HasPrefix(b[i:], []byte("false")) {
				return false
			}
			i += 5
		case 'n':
			if !bytes.HasPrefix(b[i:], []byte("null")) {
				return false
			}
			i += 4
		default:
			var ok bool
			if i, ok = validNumber(b, i); !ok {
				return false
			}
		}
		// After a value: a comma, the end of containers, or of the text.
		for {
			i = skipSpace(b, i)
			if n == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			if b[i] == ',' {
				i = skipSpace(b, i+1)
				if stack[n-1] == '{' {
					var ok bool
					if i, ok = validKey(b, i); !ok {
						return false
					}
				}
				break
			}
			if b[i] != stack[n-1]+2 {
				return false
			}
			i++
			n--
		}
	}
}

// validKey reads `"key" :` and the space after it.
func validKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := validString(b, i)
	if !ok {
		return i, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return skipSpace(b, i+1), true
}

// validString reads the string that starts at b[i] ('"').
func validString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

// validNumber reads the number that starts at b[i].
func validNumber(b []byte, i int) (int, bool) {
	digits := func(i int) (int, bool) {
		j := i
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j, j > i
	}
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	if b[i] == '0' {
		i++
	} else {
		var ok bool
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	if i < len(b) && b[i] == '.' {
		var ok bool
		if i, ok = digits(i + 1); !ok {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		var ok bool
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	return i, true
}
