package cspreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// Decoding errors. Each is answered with its status; none stores anything.
var (
	errTooDeep   = errors.New("nesting too deep")
	errShape     = errors.New("not a report: want {\"csp-report\":…}, a Reporting API array, or {\"type\":…,\"body\":…}")
	errSyntax    = errors.New("malformed JSON")
	errTooMany   = errors.New("too many reports in one batch")
	errEmptyBody = errors.New("empty body")
)

// checkDepth reports whether the JSON text b nests objects and arrays at
// most max levels deep. It does not validate b: the decoder does that.
func checkDepth(b []byte, max int) error {
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

// raw is one report read from a body, before normalisation.
type raw struct {
	format      string
	typ         string // report type; "csp-violation" for CSP
	age         int
	url         string
	userAgent   string
	document    string
	referrer    string
	violated    string
	effective   string
	policy      string
	disposition string
	blocked     string
	sourceFile  string
	sample      string
	line, col   int
	status      int
	// src is the report's JSON as received (the legacy object or the
	// batch element), for raw events; body is the Reporting API body, for
	// reports of other types. Both may alias the request's buffer.
	src, body []byte
}

// decoded is what a body holds: the reports, and the items that could not
// be read (batches only: a single report that cannot be read is a 400).
type decoded struct {
	reports []raw
	invalid int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// decode reads a report body of any shape, decided by the body: an array
// is a Reporting API batch, an object with "csp-report" a legacy report,
// an object with "type" and "body" a single Reporting API report (WebKit).
// Every item of a batch stands alone: one that cannot be read is counted
// and skipped.
func decode(b []byte, maxItems int) (decoded, error) {
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
			r, ok := fromEnvelope(&e, "report-to")
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
		r, ok := fromEnvelope(&e.envelope, "report-to-single")
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

func fromLegacy(l *legacyBody) raw {
	return raw{
		format: "report-uri", typ: typeCSP,
		document: string(l.DocumentURI), referrer: string(l.Referrer),
		violated: string(l.ViolatedDirective), effective: string(l.EffectiveDirective),
		policy: string(l.OriginalPolicy), disposition: string(l.Disposition),
		blocked: string(l.BlockedURI), sourceFile: string(l.SourceFile),
		sample: string(l.ScriptSample),
		line:   int(l.LineNumber), col: int(l.ColumnNumber), status: int(l.StatusCode),
	}
}

const typeCSP = "csp-violation"

func fromEnvelope(e *envelope, format string) (raw, bool) {
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

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
