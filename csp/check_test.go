package csp

import (
	"fmt"
	"strings"
	"testing"
)

// TestNewRejects holds one case per rejection the issue and the research
// note list: quote mistakes (helmet), injection through every kind of
// directive (GHSA-rqq5-2gf9-4w4q), duplicates, 'none' mixing, report-to,
// unknown directives. Each error must name the field and the directive
// and say what to write.
func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error
	}{
		{"bare self", Config{Enforce: Policy{Dir(ScriptSrc, "self")}}, []string{"Config.Enforce", "script-src", `"'self'"`}},
		{"bare none", Config{Enforce: Policy{Dir(ObjectSrc, "none")}}, []string{"object-src", `"'none'"`}},
		{"bare unsafe-inline", Config{Enforce: Policy{Dir(StyleSrc, "unsafe-inline")}}, []string{"style-src", `"'unsafe-inline'"`}},
		{"bare strict-dynamic", Config{Enforce: Policy{Dir(ScriptSrc, "strict-dynamic")}}, []string{`"'strict-dynamic'"`}},
		{"bare nonce", Config{Enforce: Policy{Dir(ScriptSrc, "nonce-abc")}}, []string{"must be quoted"}},
		{"bare sha256", Config{Enforce: Policy{Dir(ScriptSrc, "sha256-abc")}}, []string{"must be quoted"}},
		{"upper-case bare keyword", Config{Enforce: Raw("script-src SELF")}, []string{`"'self'"`}},
		{"double quotes", Config{Enforce: Policy{Dir(ScriptSrc, `"self"`)}}, []string{"single quotes", `"'self'"`}},
		{"raw bare self", Config{Enforce: Raw("default-src self")}, []string{"default-src", `"'self'"`}},
		{"report-only bare self", Config{ReportOnly: Raw("default-src self; report-uri /r")}, []string{"Config.ReportOnly", "default-src"}},
		{"fixed nonce", Config{Enforce: Policy{Dir(ScriptSrc, "'nonce-abcdefabcdefabcdefabcd'")}}, []string{"fixed nonce", "csp.NonceSource"}},
		{"nonce in img-src", Config{Enforce: Policy{Dir(ImgSrc, NonceSource)}}, []string{"img-src", "ignore nonces"}},
		{"unknown keyword", Config{Enforce: Policy{Dir(ScriptSrc, "'unsafe-everything'")}}, []string{"unknown keyword"}},
		{"bad hash", Config{Enforce: Policy{Dir(ScriptSrc, "'sha256-abc'")}}, []string{"not a sha256 hash", "csp.SHA256"}},
		{"none with others", Config{Enforce: Policy{Dir(ScriptSrc, None, Self)}}, []string{"script-src", "'none' must be alone"}},
		{"duplicate directive", Config{Enforce: Raw("script-src 'self'; script-src 'none'")}, []string{"script-src appears twice"}},
		{"two report-to", Config{Enforce: Policy{Dir(DefaultSrc, Self), Dir(ReportTo, "a", "b")}}, []string{"report-to", "exactly one"}},
		{"unknown directive", Config{Enforce: Raw("script-source 'self'")}, []string{"unknown directive", `"script-source"`}},
		{"underscore directive", Config{Enforce: Policy{Dir("script_src", Self)}}, []string{"not a directive name"}},
		{"removed directive", Config{Enforce: Raw("referrer no-referrer")}, []string{"referrer", "Referrer-Policy"}},
		{"upper-case name", Config{Enforce: Policy{Dir("Script-Src", Self)}}, []string{"lower case"}},
		{"uir with value", Config{Enforce: Policy{Dir(UpgradeInsecureRequests, Self)}}, []string{"takes no value"}},
		{"sandbox unknown flag", Config{Enforce: Policy{Dir(Sandbox, "scripts")}}, []string{"sandbox", "allow-scripts"}},
		{"frame-ancestors keyword", Config{Enforce: Policy{Dir(FrameAncestors, UnsafeInline)}}, []string{"frame-ancestors", "not allowed"}},
		{"webrtc", Config{Enforce: Policy{Dir(WebRTC, Self)}}, []string{"webrtc", "'allow' or 'block'"}},
		{"rttf", Config{Enforce: Policy{Dir(RequireTrustedTypesFor, "'style'")}}, []string{"'script'"}},
		{"trusted-types keyword", Config{Enforce: Policy{Dir(TrustedTypes, "'self'")}}, []string{"trusted-types keyword"}},
		{"not a host", Config{Enforce: Policy{Dir(ImgSrc, "exa_mple..com")}}, []string{"not a host"}},
		{"nonce bytes", Config{NonceBytes: 8}, []string{"Config.NonceBytes", "16"}},
		{"reporting path", Config{Reporting: &Reporting{Path: "csp-report"}}, []string{"Config.Reporting.Path"}},
		{"reporting path quote", Config{Reporting: &Reporting{Path: `/r"x`}}, []string{"Config.Reporting.Path"}},
		{"reporting path comma", Config{Reporting: &Reporting{Path: `/r,x`}}, []string{"Config.Reporting.Path"}},
		{"reporting group", Config{Reporting: &Reporting{Group: "a b"}}, []string{"Config.Reporting.Group"}},
		{"reporting rate", Config{Reporting: &Reporting{SampleRate: 2}}, []string{"Config.Reporting.SampleRate"}},
		{"reporting and report-uri", Config{Reporting: &Reporting{}, Enforce: Raw("default-src 'self'; report-uri /x")}, []string{"report-uri", "Config.Reporting already adds"}},
		{"preset invalid", Config{Presets: map[string]Change{"p": {Append: Policy{Dir(ScriptSrc, "self")}}}}, []string{`Config.Presets["p"]`, `"'self'"`}},
		{"preset bad target", Config{Presets: map[string]Change{"p": {Target: 9}}}, []string{"Target"}},
	}
	// Injection: ";", ",", CR, LF, space, control and non-ASCII in a value
	// of every kind of directive, typed and raw.
	inj := map[string]string{";": `";"`, ",": `","`, "\r": "CR", "\n": "LF", " ": "a space", "\x00": "a control", "é": "non-ASCII"}
	for _, dir := range []struct{ name, ok string }{
		{DefaultSrc, "example.com"}, {ScriptSrc, "example.com"}, {BaseURI, "example.com"},
		{FrameAncestors, "example.com"}, {Sandbox, "allow-scripts"}, {ReportTo, "csp"},
		{ReportURI, "/csp"}, {TrustedTypes, "policy"}, {WebRTC, "'allow'"}, {RequireTrustedTypesFor, "'script'"},
	} {
		for c, what := range inj {
			v := Source(dir.ok + c + "script-src 'unsafe-inline'")
			tests = append(tests, struct {
				name string
				cfg  Config
				want []string
			}{"injection " + dir.name + " " + what, Config{Enforce: Policy{Dir(dir.name, v)}}, []string{dir.name, what}})
		}
	}
	// Raw strings keep CR, LF and "," inside tokens, where they are refused.
	for _, raw := range []string{"default-src 'self'\r\nX-Evil: 1", "default-src 'self', script-src *", "default-src 'self'\nscript-src *"} {
		tests = append(tests, struct {
			name string
			cfg  Config
			want []string
		}{"raw " + strings.ReplaceAll(raw, "\n", `\n`), Config{Enforce: Raw(raw)}, []string{"default-src"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New accepted %v", tt.cfg.Enforce)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "csp: ") {
				t.Errorf("error %q does not start with \"csp: \"", err)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	tests := []string{
		"default-src 'self'",
		"default-src 'none'; script-src 'self' 'nonce' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; base-uri 'none'",
		"img-src 'self' data: https://*.example.com:443/img/ blob:; font-src *",
		"sandbox; frame-ancestors 'self' https://a.example",
		"sandbox allow-scripts allow-forms allow-popups-to-escape-sandbox",
		"trusted-types policy-% default 'allow-duplicates'; require-trusted-types-for 'script'",
		"script-src 'sha256-" + strings.Repeat("A", 43) + "='; report-to csp; report-uri /csp?x=a%20b",
		"upgrade-insecure-requests; webrtc 'block'",
		"DEFAULT-SRC 'self'", // names are case-insensitive: Raw lower-cases them
		"script-src $NONCE 'self'",
		"plugin-types application/pdf; block-all-mixed-content",
	}
	for _, s := range tests {
		if _, err := New(Config{Enforce: Raw(s)}); err != nil {
			t.Errorf("New(%q): %v", s, err)
		}
	}
	for _, s := range []Source{SHA256([]byte("x")), SHA384([]byte("x")), SHA512([]byte("x"))} {
		if _, err := New(Config{Enforce: Policy{Dir(ScriptSrc, s)}}); err != nil {
			t.Errorf("hash %s: %v", s, err)
		}
	}
}

func TestLints(t *testing.T) {
	tests := []struct {
		policy     string
		reportOnly bool
		want       []string // directive: reason substring
	}{
		{"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; object-src 'none'; base-uri 'none'", false,
			[]string{"script-src:'unsafe-inline'", "script-src:'unsafe-eval'"}},
		{"script-src 'strict-dynamic'", false, []string{"script-src:'strict-dynamic' without", "object-src:missing", "base-uri:missing"}},
		{"script-src https: *; object-src 'none'; base-uri 'self'", false, []string{"script-src:https:", "script-src:*"}},
		{"default-src 'self'; sandbox; upgrade-insecure-requests; object-src 'none'; base-uri 'none'", true,
			[]string{"sandbox:ignored", "upgrade-insecure-requests:ignored", "report-to:reports nothing"}},
		{"default-src 'none'; base-uri 'none'; report-uri /r; prefetch-src 'self'", false, []string{"report-uri:deprecated", "prefetch-src:removed"}},
	}
	for _, tt := range tests {
		p := MustParse(tt.policy)
		ls := p.lints(tt.reportOnly, p.find(ReportURI) >= 0)
		var got []string
		for _, l := range ls {
			got = append(got, l.directive+":"+l.reason)
		}
		for _, w := range tt.want {
			found := false
			for _, g := range got {
				if strings.HasPrefix(g, strings.SplitN(w, ":", 2)[0]+":") && strings.Contains(g, strings.SplitN(w, ":", 2)[1]) {
					found = true
				}
			}
			if !found {
				t.Errorf("%q: no lint %q in %q", tt.policy, w, got)
			}
		}
	}
	if ls := Strict().lints(false, false); len(ls) != 0 {
		t.Errorf("Strict() has lints: %v", ls)
	}
}

// TestSchemeWithoutColon holds the mistake a host-source hides: a scheme
// written without its colon ("data", "https") is a valid host name, so a
// browser would read img-src data as "the host named data" and block
// every data: image. Every way a policy reaches the checks must refuse it
// and say what to write.
func TestSchemeWithoutColon(t *testing.T) {
	schemes := []string{"data", "https", "http", "blob", "wss", "ws", "filesystem", "mediastream", "DATA"}
	type build func(s string) error
	ways := []struct {
		name  string
		build build
		where string // the field the error must name
	}{
		{"Parse", func(s string) error { _, err := Parse("img-src 'self' " + s); return err }, "policy"},
		{"Enforce Host", func(s string) error {
			_, err := New(Config{Enforce: Policy{Dir(ImgSrc, Self, Host(s))}})
			return err
		}, "Config.Enforce"},
		{"Enforce Raw", func(s string) error { _, err := New(Config{Enforce: Raw("img-src " + s)}); return err }, "Config.Enforce"},
		{"ReportOnly Dir", func(s string) error {
			_, err := New(Config{ReportOnly: Policy{Dir(ImgSrc, Source(s))}})
			return err
		}, "Config.ReportOnly"},
		{"Presets", func(s string) error {
			_, err := New(Config{Presets: map[string]Change{"embed": {Append: Policy{Dir(ImgSrc, Host(s))}}}})
			return err
		}, `Config.Presets["embed"]`},
		{"base-uri", func(s string) error { _, err := New(Config{Enforce: Policy{Dir(BaseURI, Host(s))}}); return err }, "Config.Enforce"},
		{"frame-ancestors", func(s string) error {
			_, err := New(Config{Enforce: Policy{Dir(FrameAncestors, Host(s))}})
			return err
		}, "Config.Enforce"},
	}
	for _, w := range ways {
		for _, s := range schemes {
			t.Run(w.name+"/"+s, func(t *testing.T) {
				err := w.build(s)
				if err == nil {
					t.Fatalf("%q accepted as a host", s)
				}
				want := fmt.Sprintf("%q is a scheme without its colon: write %q", s, strings.ToLower(s)+":")
				for _, sub := range []string{"csp: " + w.where + ": ", want} {
					if !strings.Contains(err.Error(), sub) {
						t.Errorf("error %q does not contain %q", err, sub)
					}
				}
			})
		}
	}
	// The same names are fine as schemes, in a URL, or as part of a
	// longer host.
	for _, ok := range []string{"img-src data: blob: https://data https://data.example.com wss://ws.example.com", "connect-src ws: wss: http://blob:8080"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}

// TestSourceMistakes holds the other shapes of one mistake: something
// that is not a host, written where a host is read. Each error says what
// to write.
func TestSourceMistakes(t *testing.T) {
	tests := []struct {
		policy string
		want   string
	}{
		{"img-src https://", `"https://" has no host: write "https:" for every host on that scheme, or a host such as "https://cdn.example.com"`},
		{"connect-src 'wss:'", `"'wss:'" is a scheme in quotes: write "wss:" without quotes`},
		{"script-src 'cdn.example.com'", `"'cdn.example.com'" is a host in quotes: write "cdn.example.com" without quotes`},
		{"script-src self'", `"self'" has an unbalanced quote: write "'self'"`},
		{"scripts-src 'self'", `did you mean "script-src"?`},
		{"img-scr 'self'", `did you mean "img-src"?`},
		{"default-scr 'self'", `did you mean "default-src"?`},
		{"frame-ancestor 'self'", `did you mean "frame-ancestors"?`},
		{"script-src 'SELF'", `"'SELF'" is a keyword in upper case: write "'self'"`},
		{"default-src 'self'; report-uri csp-report", `"csp-report" is a relative URL, read from each page's own path: write "/csp-report"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.policy)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v; want an error containing %s", tt.policy, err, tt.want)
		}
	}
}
