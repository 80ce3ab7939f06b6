package sessionexpiry_test

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

func plainValues() map[string]any {
	return map[string]any{
		"bulwark.user_id":  "alice",
		"bulwark.login_at": int64(1_763_900_000_123_456_789),
		"bulwark.seen_at":  int64(-5),
		"flash":            "",
		"csrf":             []byte{0, 1, 2, 255},
		"empty":            []byte{},
		"remember":         true,
		"admin":            false,
		"count":            -42,
		"small":            int32(-7),
		"ratio":            3.25,
		"when":             time.Date(2026, 11, 23, 16, 0, 0, 5, time.FixedZone("CET", 3600)),
		"":                 "empty key",
	}
}

type custom struct{ A, B string }

func init() { gob.Register(custom{}) }

func TestCodecRoundTrip(t *testing.T) {
	deadline := time.Date(2026, 11, 24, 4, 0, 0, 123, time.UTC)
	for _, tc := range []struct {
		name   string
		values map[string]any
		ours   bool // written in Codec's own format, not gob
	}{
		{"plain values", plainValues(), true},
		{"no values", map[string]any{}, true},
		{"a custom type falls back to gob", map[string]any{"x": custom{"a", "b"}, "user": "alice"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := sessionexpiry.Codec{}.Encode(deadline, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			if ours := b[0] == 0; ours != tc.ours {
				t.Fatalf("own format = %v, want %v", ours, tc.ours)
			}
			d, v, err := sessionexpiry.Codec{}.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Equal(deadline) {
				t.Errorf("deadline %v, want %v", d, deadline)
			}
			for k, want := range tc.values {
				got := v[k]
				if wt, ok := want.(time.Time); ok {
					if gt, ok := got.(time.Time); !ok || !gt.Equal(wt) {
						t.Errorf("%q: %v, want %v", k, got, want)
					}
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%q: %#v, want %#v", k, got, want)
				}
			}
			if len(v) != len(tc.values) {
				t.Errorf("%d values, want %d", len(v), len(tc.values))
			}
		})
	}
}

// TestCodecReadsGob: sessions written by scs's default codec stay valid
// after the switch.
func TestCodecReadsGob(t *testing.T) {
	deadline := time.Now().Add(time.Hour).UTC()
	values := plainValues()
	delete(values, "when") // gob needs time.Time registered, scs does not do it
	b, err := scs.GobCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	d, v, err := sessionexpiry.Codec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Equal(deadline) || v["bulwark.user_id"] != "alice" || v["bulwark.login_at"] != values["bulwark.login_at"] {
		t.Fatalf("%v %v", d, v)
	}
}

// TestCodecCorrupt: truncated or altered data is an error, never a panic
// or a session with other values.
func TestCodecCorrupt(t *testing.T) {
	b, err := sessionexpiry.Codec{}.Encode(time.Now(), plainValues())
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) - 1 {
		if _, _, err := (sessionexpiry.Codec{}).Decode(b[:i]); err == nil {
			t.Errorf("truncated at %d: no error", i)
		}
	}
	if _, _, err := (sessionexpiry.Codec{}).Decode(append(bytes.Clone(b), 0)); err == nil {
		t.Error("trailing byte: no error")
	}
}

func FuzzCodecDecode(f *testing.F) {
	b, _ := sessionexpiry.Codec{}.Encode(time.Now(), plainValues())
	f.Add(b)
	f.Add([]byte("\x0d\xff\x81"))
	f.Add([]byte("\x00bwk1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, v, err := sessionexpiry.Codec{}.Decode(b)
		if err != nil || len(b) == 0 || b[0] != 0 {
			return
		}
		// What decodes re-encodes to the same session.
		b2, err := sessionexpiry.Codec{}.Encode(d, v)
		if err != nil {
			t.Fatal(err)
		}
		d2, v2, err := sessionexpiry.Codec{}.Decode(b2)
		if err != nil || !d2.Equal(d) || len(v2) != len(v) {
			t.Fatalf("re-encoded session differs: %v", err)
		}
	})
}

// TestCodecSwitch: a session logged in under scs's gob codec survives the
// switch to Codec, and is then judged and written as before.
func TestCodecSwitch(t *testing.T) {
	clk := newClock()
	log, _ := newLogger(t)
	sm := newManager()
	inner := sm.Store
	s := newSite(t, sm, clk, log)
	c := s.login(t) // written with gob
	sm.Codec = sessionexpiry.Codec{}
	clk.Add(2 * time.Minute) // a touch is due: the session is rewritten
	if rec := s.do("GET", "/whoami", c); rec.Body.String() != "alice" {
		t.Fatalf("%q", rec.Body)
	}
	if b, _, _ := inner.Find(c.Value); len(b) == 0 || b[0] != 0 {
		t.Fatal("the session was not rewritten in Codec's format")
	}
	clk.Add(time.Minute)
	if rec := s.do("GET", "/whoami", c); rec.Body.String() != "alice" {
		t.Fatalf("%q", rec.Body)
	}
	clk.Add(21 * time.Minute)
	if rec := s.do("GET", "/whoami", c); rec.Code != 303 {
		t.Fatalf("%d", rec.Code)
	}
}
