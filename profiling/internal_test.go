package profiling

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
)

func TestQueryValue(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		found     bool
	}{
		{"", "", false},
		{"profile", "", true},
		{"profile=", "", true},
		{"a=1&profile=cpu&b=2", "cpu", true},
		{"profile=cpu&profile=trace", "cpu", true},
		{"xprofile=cpu", "", false},
		{"profilex=cpu", "", false},
		{"q=profile", "", false},
		{"pro%66ile=trace", "trace", true},
		{"profile=trace%2Ccpu", "trace,cpu", true},
		{"profile=trace,+cpu", "trace, cpu", true},
		{"profile=%zz&profile=cpu", "cpu", true}, // a bad escape is skipped, as ParseQuery does
		{"profile=cpu;a=b", "", false},           // so is a pair with ';'
		{"%zz=1&profile=1", "1", true},
		{"&&profile=1", "1", true},
	} {
		got, found := queryValue(c.raw, "profile")
		if got != c.want || found != c.found {
			t.Errorf("queryValue(%q) = %q, %v; want %q, %v", c.raw, got, found, c.want, c.found)
		}
	}
}

// queryValue reads a raw query as url.ParseQuery does.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"profile=cpu", "a=1&profile", "pro%66ile=x", "profile=%2", "profile=a;b", "x=%zz&profile=+", "profile=1&profile=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, found := queryValue(raw, "profile")
		vals, _ := url.ParseQuery(raw)
		want, ok := vals["profile"]
		if found != ok || ok && got != want[0] {
			t.Errorf("queryValue(%q) = %q, %v; url.ParseQuery has %q, %v", raw, got, found, want, ok)
		}
	})
}

func TestAppendToken(t *testing.T) {
	for in, want := range map[string]string{
		"db": "db", "": "span", "gc": "app-gc", "capture": "app-capture", "spans-dropped": "app-spans-dropped",
		`a "b"`: "a__b_", "é": "__", "a,b;c=d": "a_b_c_d", strings.Repeat("x", 70): strings.Repeat("x", 64),
		"!#$%&'*+-.^_`|~": "!#$%&'*+-.^_`|~",
	} {
		if got := string(appendToken(nil, in)); got != want {
			t.Errorf("appendToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB", 2048 << 30: "2048.0 GiB",
	} {
		if got := string(appendBytes(nil, n)); got != want {
			t.Errorf("appendBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRingBounds(t *testing.T) {
	r := ring{max: 3, maxBytes: 100}
	add := func(id string, size int) {
		r.add(&Capture{ID: id, Kind: Trace, Data: make([]byte, size)})
	}
	names := func() string {
		caps, size := r.list()
		var s []string
		for _, c := range caps {
			s = append(s, c.ID)
		}
		return strings.Join(s, " ") + " / " + strings.Repeat("#", size/10)
	}
	add("a", 10)
	add("b", 10)
	add("c", 10)
	add("d", 10) // count bound: a goes
	if got := names(); got != "d c b / ###" {
		t.Errorf("after d: %s", got)
	}
	add("e", 80) // byte bound: b goes (c, d and e make 100)
	if got := names(); got != "e d c / ##########" {
		t.Errorf("after e: %s", got)
	}
	add("f", 100) // alone fills it
	if got := names(); got != "f / ##########" {
		t.Errorf("after f: %s", got)
	}
	r.setTiming("f", "total;dur=1.000")
	if c, ok := r.get("f.trace"); !ok || c.Timing != "total;dur=1.000" {
		t.Errorf("get f.trace: %v %q", ok, c.Timing)
	}
	if _, ok := r.get("f.pprof"); ok {
		t.Error("get f.pprof found the trace")
	}
}

func TestNextID(t *testing.T) {
	var r ring
	at := time.Date(2026, 11, 23, 18, 16, 0, 0, time.FixedZone("CET", 3600))
	if id := r.nextID(at); id != "20261123T171600Z-0001" {
		t.Errorf("first id %q", id)
	}
	r.seq = 12344
	if id := r.nextID(at); id != "20261123T171600Z-12345" {
		t.Errorf("id %q", id)
	}
	if !regexp.MustCompile(`^\d{8}T\d{6}Z-\d{4,}$`).MatchString(r.nextID(time.Now())) {
		t.Error("id format")
	}
}

// A capture larger than MaxCaptureBytes is discarded, with an event;
// the process can capture again.
func TestTooLarge(t *testing.T) {
	l, rec := seclogtest.New(t)
	m := testenv.Must(New(Config{Logger: l}))
	m.maxBytes = 100 // below what New accepts, to make any capture too large
	staff := identity.Basic{UserID: "ada", IsActive: true, IsStaff: true}
	r := httptest.NewRequest("GET", "/?profile=trace,cpu", nil)
	r = r.WithContext(identity.NewContext(r.Context(), staff))
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
	})).ServeHTTP(httptest.NewRecorder(), r)
	if n := len(m.Captures()); n != 0 {
		t.Errorf("%d captures kept, want 0", n)
	}
	var got []string
	for _, e := range rec.Take() {
		got = append(got, e.Name+":"+e.Fields["kind"].(string)+":"+e.Fields["reason"].(string))
	}
	if strings.Join(got, " ") != "profiling.skipped:trace:too_large profiling.skipped:cpu:too_large" {
		t.Errorf("events %v", got)
	}
	if busy.Load() {
		t.Error("busy after the capture")
	}
}

func TestLimitBuffer(t *testing.T) {
	b := &limitBuffer{max: 5}
	for _, p := range []string{"ab", "cd", "e"} {
		if n, err := b.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if string(b.b) != "abcde" || b.over {
		t.Fatalf("%q over=%v", b.b, b.over)
	}
	if n, err := b.Write([]byte("f")); n != 1 || err != nil || !b.over || b.b != nil {
		t.Errorf("past max: %d, %v, over=%v, %q", n, err, b.over, b.b)
	}
	f := &limitBuffer{max: 1, fail: true}
	if _, err := f.Write([]byte("xy")); err != errTooLarge {
		t.Errorf("with fail: %v", err)
	}
}

// Whatever a handler names its spans, the Server-Timing value stays
// within the header's grammar: visible ASCII and spaces only, and each
// metric's name a token.
func FuzzSpanName(f *testing.F) {
	for _, s := range []string{"db", "", "total", "a\r\nSet-Cookie: x=1", `q"uote`, "é", "a, b;dur=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		st := &state{start: time.Now()}
		st.add(name, time.Millisecond)
		st.add("other", time.Millisecond)
		v := st.timing(time.Now(), counters{})
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c >= 0x7f {
				t.Fatalf("span %q: byte %#x in %q", name, c, v)
			}
		}
		metrics := strings.Split(v, ", ")
		want := 5 // total, the span, other, alloc, gc
		if name == "other" {
			want = 4
		}
		if len(metrics) != want {
			t.Fatalf("span %q: %d metrics in %q", name, len(metrics), v)
		}
		for _, m := range metrics {
			metric, _, _ := strings.Cut(m, ";")
			if metric == "" {
				t.Fatalf("span %q: empty metric name in %q", name, v)
			}
			for i := 0; i < len(metric); i++ {
				if !isTchar(metric[i]) {
					t.Fatalf("span %q: metric name %q is not a token", name, metric)
				}
			}
		}
	})
}
