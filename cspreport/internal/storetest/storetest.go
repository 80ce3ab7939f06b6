// Package storetest is the conformance suite every cspreport.Store passes:
// the memory store, and the SQL store on SQLite and PostgreSQL.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/seclog"
)

// T0 is the suite's reference time.
var T0 = time.Date(2026, 11, 23, 10, 15, 0, 123456789, time.UTC)

// Rep returns a report of group g and detail d (small integers), at.
func Rep(g, d int, at time.Time) cspreport.Report {
	gfp := fmt.Sprintf("g%031d", g)
	return cspreport.Report{
		GroupFP: gfp, DetailFP: fmt.Sprintf("d%015d%016d", g, d), Format: "report-uri",
		Directive: "script-src-elem", Disposition: "enforce", BlockedKind: "url",
		BlockedOrigin: fmt.Sprintf("https://cdn%d.example", g), Blocked: fmt.Sprintf("https://cdn%d.example/a.js", g),
		DocumentURL: "https://app.example/users/1", DocumentOrigin: "https://app.example", DocumentPath: "/users/:id",
		SourceFile: "https://app.example/main.js", Line: d, Column: 7, Sample: "", Policy: "script-src 'self'",
		PolicyHash: "ph1", PolicyVersion: "v1", UserAgent: "UA", ClientPrefix: "192.0.2.0/24",
		ReceivedAt: at, OccurredAt: at,
	}
}

// Run runs the suite; newStore returns a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) cspreport.Store) {
	ctx := context.Background()
	t.Run("Queries", func(t *testing.T) { runQueries(t, newStore) })

	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		gs, err := s.Groups(ctx, cspreport.GroupQuery{})
		must(t, err)
		cs, err := s.Counters(ctx, time.Time{})
		must(t, err)
		if len(gs) != 0 || len(cs) != 0 {
			t.Fatalf("empty store: %v, %v", gs, cs)
		}
		if err := s.Mute(ctx, "nope", true); !errors.Is(err, cspreport.ErrNotFound) {
			t.Fatalf("Mute(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("MergeAndNewGroups", func(t *testing.T) {
		s := newStore(t)
		b := Batch(Rep(1, 1, T0), Rep(1, 1, T0.Add(time.Second)), Rep(1, 2, T0.Add(-time.Second)), Rep(2, 1, T0))
		created, err := Save(ctx, s, b)
		must(t, err)
		if strings.Join(sorted(created), ",") != Rep(1, 0, T0).GroupFP+","+Rep(2, 0, T0).GroupFP {
			t.Fatalf("new groups %v", created)
		}
		created, err = Save(ctx, s, Batch(Rep(1, 1, T0.Add(time.Minute))))
		must(t, err)
		if len(created) != 0 {
			t.Fatalf("second save created %v", created)
		}
		gs, err := s.Groups(ctx, cspreport.GroupQuery{})
		must(t, err)
		if len(gs) != 2 {
			t.Fatalf("%d groups", len(gs))
		}
		g := gs[0]
		r := Rep(1, 1, T0)
		if g.Fingerprint != r.GroupFP || g.Total != 4 || g.Count != 4 {
			t.Fatalf("first group %+v", g)
		}
		if !g.FirstSeen.Equal(stamp(T0.Add(-time.Second))) || !g.LastSeen.Equal(stamp(T0.Add(time.Minute))) {
			t.Errorf("first/last seen %v %v", g.FirstSeen, g.LastSeen)
		}
		if g.Directive != r.Directive || g.Disposition != r.Disposition || g.BlockedKind != r.BlockedKind ||
			g.BlockedOrigin != r.BlockedOrigin || g.DocumentOrigin != r.DocumentOrigin || g.DocumentPath != r.DocumentPath ||
			g.ExampleBlocked != r.Blocked || g.ExampleSource != "https://app.example/main.js:1:7" || g.Muted {
			t.Errorf("group fields %+v", g)
		}
		if gs[1].Total != 1 {
			t.Errorf("second group %+v", gs[1])
		}
		ds, err := s.Details(ctx, g.Fingerprint, 0)
		must(t, err)
		if len(ds) != 2 || ds[0].Count != 3 || ds[1].Count != 1 || ds[0].Line != 1 || ds[1].Line != 2 {
			t.Fatalf("details %+v", ds)
		}
		d := ds[0]
		if d.GroupFP != g.Fingerprint || d.SourceFile != r.SourceFile || d.Column != 7 || d.PolicyHash != "ph1" ||
			d.PolicyVersion != "v1" || d.ExampleDocument != r.DocumentURL || d.ExampleUA != "UA" || d.ExampleBlocked != r.Blocked {
			t.Errorf("detail fields %+v", d)
		}
		if ds, _ := s.Details(ctx, g.Fingerprint, 1); len(ds) != 1 {
			t.Errorf("Details limit 1: %d", len(ds))
		}
		if gs, _ := s.Groups(ctx, cspreport.GroupQuery{Limit: 1}); len(gs) != 1 {
			t.Errorf("Groups limit 1: %d", len(gs))
		}
	})

	t.Run("Browsers", func(t *testing.T) {
		s := newStore(t)
		ua := func(r cspreport.Report, ua string) cspreport.Report { r.UserAgent = ua; return r }
		chrome := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		firefox := "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
		must2(s.Save(ctx, Batch(ua(Rep(1, 1, T0), chrome), ua(Rep(1, 2, T0), firefox), ua(Rep(1, 1, T0), chrome), ua(Rep(2, 1, T0), ""))))
		must2(s.Save(ctx, Batch(ua(Rep(1, 1, T0), chrome))))
		gs, err := s.Groups(ctx, cspreport.GroupQuery{})
		must(t, err)
		if len(gs) != 2 || fmt.Sprint(gs[0].Browsers) != "[{Chrome 3} {Firefox 1}]" || fmt.Sprint(gs[1].Browsers) != "[{unknown 1}]" {
			t.Fatalf("browsers %v, %v", gs[0].Browsers, gs[1].Browsers)
		}
		_, err = s.DeleteBefore(ctx, T0.Add(time.Hour), 1)
		must(t, err)
		must2(s.Save(ctx, Batch(ua(Rep(1, 1, T0), firefox))))
		gs, err = s.Groups(ctx, cspreport.GroupQuery{})
		must(t, err)
		if len(gs) != 1 || fmt.Sprint(gs[0].Browsers) != "[{Firefox 1}]" {
			t.Fatalf("after retention and a new report: %+v", gs)
		}
	})

	t.Run("ClientsAndPolicies", func(t *testing.T) {
		s := newStore(t)
		old := T0.Add(-48 * time.Hour)
		from := func(r cspreport.Report, client string) cspreport.Report { r.ClientPrefix = client; return r }
		must2(s.Save(ctx, Batch(from(Rep(1, 1, old), "198.51.100.0/24"), from(Rep(2, 1, old), "198.51.100.0/24"))))
		must2(s.Save(ctx, Batch(from(Rep(1, 1, T0), "192.0.2.0/24"), from(Rep(1, 2, T0), "2001:db8::/64"),
			from(Rep(1, 1, T0), "192.0.2.0/24"))))
		g1, g2 := Rep(1, 1, T0).GroupFP, Rep(2, 1, T0).GroupFP
		cs, err := s.GroupClients(ctx, []string{g1, g2, "unknown"}, T0.Add(-time.Hour))
		must(t, err)
		if got := fmt.Sprint(cs); got != fmt.Sprintf("map[%s:[192.0.2.0/24 2001:db8::/64]]", g1) {
			t.Fatalf("clients in the last hour: %s", got)
		}
		cs, err = s.GroupClients(ctx, []string{g1, g2}, time.Time{})
		must(t, err)
		if len(cs[g1]) != 3 || len(cs[g2]) != 1 {
			t.Fatalf("clients ever: %v", cs)
		}
		p, err := s.Policy(ctx, "ph1")
		must(t, err)
		eq(t, "policy", p, "script-src 'self'")
		if p, err := s.Policy(ctx, "nope"); err != nil || p != "" {
			t.Fatalf("unknown policy: %q, %v", p, err)
		}
		_, err = s.DeleteBefore(ctx, T0.Add(-time.Hour), 1)
		must(t, err)
		if cs, _ := s.GroupClients(ctx, []string{g1, g2}, time.Time{}); len(cs[g1]) != 2 || len(cs[g2]) != 0 {
			t.Fatalf("clients after retention: %v", cs)
		}
	})

	t.Run("EventsAndOthers", func(t *testing.T) {
		s := newStore(t)
		old := T0.Add(-48 * time.Hour)
		ev := func(d int, at time.Time) cspreport.Event {
			r := Rep(1, d, at)
			return cspreport.Event{GroupFP: r.GroupFP, DetailFP: r.DetailFP, ReceivedAt: at, Raw: fmt.Sprintf(`{"n":%d}`, at.Unix())}
		}
		oth := func(typ string, at time.Time) cspreport.OtherReport {
			return cspreport.OtherReport{Type: typ, URL: "https://app.example/", UserAgent: "UA", ClientPrefix: "192.0.2.0/24", Body: `{"id":"x"}`, ReceivedAt: at}
		}
		b := Batch(Rep(1, 1, old))
		b.Events, b.Other = []cspreport.Event{ev(1, old)}, []cspreport.OtherReport{oth("crash", old)}
		must2(s.Save(ctx, b))
		b = Batch(Rep(1, 1, T0), Rep(1, 2, T0))
		b.Events = []cspreport.Event{ev(1, T0), ev(1, T0.Add(time.Second)), ev(2, T0)}
		b.Other = []cspreport.OtherReport{oth("deprecation", T0)}
		must2(s.Save(ctx, b))
		d1 := Rep(1, 1, T0).DetailFP
		es, err := s.Events(ctx, d1, 0)
		must(t, err)
		if len(es) != 3 || !es[0].ReceivedAt.Equal(stamp(T0.Add(time.Second))) || es[0].Raw != fmt.Sprintf(`{"n":%d}`, T0.Add(time.Second).Unix()) || es[0].GroupFP != Rep(1, 1, T0).GroupFP {
			t.Fatalf("events of d1 %+v", es)
		}
		if es, _ := s.Events(ctx, d1, 1); len(es) != 1 {
			t.Fatalf("limit 1: %d events", len(es))
		}
		os, err := s.Others(ctx, T0.Add(-time.Hour), 0)
		must(t, err)
		if len(os) != 1 || os[0] != oth("deprecation", stamp(T0)) {
			t.Fatalf("others since T0-1h %+v", os)
		}
		if os, _ := s.Others(ctx, time.Time{}, 0); len(os) != 2 {
			t.Fatalf("all others: %d", len(os))
		}
		_, err = s.DeleteBefore(ctx, T0.Add(-time.Hour), 1)
		must(t, err)
		if es, _ := s.Events(ctx, d1, 0); len(es) != 2 {
			t.Fatalf("after retention: %d events of d1, want 2", len(es))
		}
		if os, _ := s.Others(ctx, time.Time{}, 0); len(os) != 1 {
			t.Fatalf("after retention: %d others, want 1", len(os))
		}
		if gs, _ := s.Groups(ctx, cspreport.GroupQuery{}); len(gs) != 1 {
			t.Fatalf("CSP groups: %+v", gs)
		}
	})

	t.Run("Window", func(t *testing.T) {
		s := newStore(t)
		old, recent := T0.Add(-48*time.Hour), T0
		must2(s.Save(ctx, Batch(Rep(1, 1, old), Rep(1, 1, old), Rep(2, 1, old))))
		must2(s.Save(ctx, Batch(Rep(1, 1, recent))))
		gs, err := s.Groups(ctx, cspreport.GroupQuery{Since: T0.Add(-time.Hour)})
		must(t, err)
		if len(gs) != 1 || gs[0].Count != 1 || gs[0].Total != 3 {
			t.Fatalf("groups in the last hour: %+v", gs)
		}
		gs, err = s.Groups(ctx, cspreport.GroupQuery{})
		must(t, err)
		if len(gs) != 2 || gs[0].Count != 3 {
			t.Fatalf("all groups: %+v", gs)
		}
	})

	t.Run("Counters", func(t *testing.T) {
		s := newStore(t)
		old := T0.Add(-48 * time.Hour)
		count := func(at time.Time, cs ...cspreport.Counter) *cspreport.Batch {
			b := &cspreport.Batch{}
			for _, c := range cs {
				b.Count(at, c.Kind, c.Name, c.Count)
			}
			return b
		}
		must2(s.Save(ctx, count(old, cspreport.Counter{Kind: cspreport.KindFiltered, Name: "scheme:moz-extension", Count: 5})))
		must2(s.Save(ctx, count(T0,
			cspreport.Counter{Kind: cspreport.KindFiltered, Name: "scheme:moz-extension", Count: 2},
			cspreport.Counter{Kind: cspreport.KindOther, Name: "deprecation", Count: 1},
			cspreport.Counter{Kind: cspreport.KindInvalid, Name: "item", Count: 3},
			cspreport.Counter{Kind: cspreport.KindFiltered, Name: "scheme:moz-extension", Count: 1}, // merged in the batch
		)))
		must2(s.Save(ctx, count(T0, cspreport.Counter{Kind: cspreport.KindFiltered, Name: "scheme:moz-extension", Count: 1})))
		cs, err := s.Counters(ctx, T0.Add(-time.Hour))
		must(t, err)
		if got := fmt.Sprint(cs); got != "[{filtered scheme:moz-extension 4} {invalid item 3} {other deprecation 1}]" {
			t.Fatalf("recent counters %s", got)
		}
		cs, err = s.Counters(ctx, time.Time{})
		must(t, err)
		if cs[0].Count != 9 {
			t.Fatalf("all counters %v", cs)
		}
	})

	t.Run("Mute", func(t *testing.T) {
		s := newStore(t)
		must2(s.Save(ctx, Batch(Rep(1, 1, T0), Rep(2, 1, T0))))
		must(t, s.Mute(ctx, Rep(1, 1, T0).GroupFP, true))
		gs, err := s.Groups(ctx, cspreport.GroupQuery{})
		must(t, err)
		if len(gs) != 1 || gs[0].Fingerprint != Rep(2, 1, T0).GroupFP {
			t.Fatalf("muted group listed: %+v", gs)
		}
		gs, err = s.Groups(ctx, cspreport.GroupQuery{Muted: true})
		must(t, err)
		if len(gs) != 2 {
			t.Fatalf("Muted: true lists %d", len(gs))
		}
		for _, g := range gs {
			if g.Muted != (g.Fingerprint == Rep(1, 1, T0).GroupFP) {
				t.Errorf("muted flag %+v", g)
			}
		}
		// A muted group still counts.
		must2(s.Save(ctx, Batch(Rep(1, 1, T0))))
		must(t, s.Mute(ctx, Rep(1, 1, T0).GroupFP, false))
		gs, _ = s.Groups(ctx, cspreport.GroupQuery{})
		if len(gs) != 2 || gs[0].Total != 2 {
			t.Fatalf("after unmute: %+v", gs)
		}
	})

	t.Run("CountGroups", func(t *testing.T) {
		s := newStore(t)
		must2(s.Save(ctx, Batch(Rep(1, 1, T0), Rep(2, 1, T0), Rep(3, 1, T0.Add(-48*time.Hour)), Rep(4, 1, T0))))
		must(t, s.Mute(ctx, Rep(4, 1, T0).GroupFP, true))
		for _, tt := range []struct {
			q    cspreport.GroupQuery
			want int
		}{
			{cspreport.GroupQuery{}, 3},
			{cspreport.GroupQuery{Muted: true}, 4},
			{cspreport.GroupQuery{Since: T0.Add(-time.Hour)}, 2},
			{cspreport.GroupQuery{Since: T0.Add(-time.Hour), Muted: true}, 3},
			{cspreport.GroupQuery{Limit: 1}, 3}, // the limit is not applied
		} {
			n, err := s.CountGroups(ctx, tt.q)
			must(t, err)
			if n != tt.want {
				t.Errorf("CountGroups(%+v) = %d, want %d", tt.q, n, tt.want)
			}
			gs, err := s.Groups(ctx, cspreport.GroupQuery{Since: tt.q.Since, Muted: tt.q.Muted})
			must(t, err)
			if len(gs) != n {
				t.Errorf("CountGroups(%+v) = %d, but Groups lists %d", tt.q, n, len(gs))
			}
		}
	})

	t.Run("Retention", func(t *testing.T) {
		s := newStore(t)
		old := T0.Add(-30 * 24 * time.Hour)
		var reps []cspreport.Report
		for g := range 7 {
			reps = append(reps, Rep(g, 1, old), Rep(g, 2, old))
		}
		b := Batch(reps...)
		b.Count(old, cspreport.KindOther, "crash", 1)
		must2(s.Save(ctx, b))
		must2(s.Save(ctx, Batch(Rep(1, 1, T0))))
		n, err := s.DeleteBefore(ctx, T0.Add(-7*24*time.Hour), 2)
		must(t, err)
		if n < 6+12+7+1 {
			t.Errorf("deleted %d rows, want at least 26", n)
		}
		gs, _ := s.Groups(ctx, cspreport.GroupQuery{Muted: true})
		if len(gs) != 1 || gs[0].Fingerprint != Rep(1, 1, T0).GroupFP {
			t.Fatalf("after retention: %+v", gs)
		}
		ds, _ := s.Details(ctx, gs[0].Fingerprint, 0)
		if len(ds) != 1 {
			t.Fatalf("details after retention: %+v", ds)
		}
		if cs, _ := s.Counters(ctx, time.Time{}); len(cs) != 0 {
			t.Errorf("counters after retention: %v", cs)
		}
		if n, err := s.DeleteBefore(ctx, T0.Add(-7*24*time.Hour), 0); err != nil || n != 0 {
			t.Errorf("second DeleteBefore: %d, %v", n, err)
		}
	})

	t.Run("OddValues", func(t *testing.T) {
		s := newStore(t)
		r := Rep(9, 9, T0)
		r.Sample = `'"; DROP TABLE x; -- <script>` + "\u202e用户🙂"
		r.SourceFile = strings.Repeat("é", cspreport.MaxURLLen/2)
		r.DocumentPath = "/%_\\"
		must2(s.Save(ctx, Batch(r)))
		ds, err := s.Details(ctx, r.GroupFP, 0)
		must(t, err)
		if len(ds) != 1 || ds[0].Sample != r.Sample || ds[0].SourceFile != r.SourceFile {
			t.Fatalf("odd values not kept: %+v", ds)
		}
		gs, _ := s.Groups(ctx, cspreport.GroupQuery{})
		if gs[0].DocumentPath != r.DocumentPath {
			t.Errorf("path %q", gs[0].DocumentPath)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		created := 0
		errs := make(chan error, 100)
		for i := range 10 {
			wg.Go(func() {
				for j := range 10 {
					c, err := Save(ctx, s, Batch(Rep(1, i, T0.Add(time.Duration(j)*time.Second)), Rep(2, 1, T0)))
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					created += len(c)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		gs, err := s.Groups(ctx, cspreport.GroupQuery{})
		must(t, err)
		if len(gs) != 2 || gs[0].Total != 100 || gs[1].Total != 100 || created != 2 {
			t.Fatalf("groups %+v, %d created (want 2 groups of 100, 2 created)", gs, created)
		}
	})

	t.Run("NewGroupLoggedWhenStored", func(t *testing.T) {
		s := newStore(t)
		rc, rec := receiver(t, s)
		var want []string
		for g := range 3 {
			want = append(want, Post(t, rc, Legacy(g, "https://app.example/", "", "")))
		}
		// No read and no other report: the store merges on its own, and
		// each new group is logged once its merge is committed.
		got := violations(t, rec, len(want))
		if strings.Join(sorted(got), ",") != strings.Join(sorted(want), ",") {
			t.Fatalf("violation events for groups %v, want %v", got, want)
		}
		Post(t, rc, Legacy(0, "https://app.example/", "", ""))
		closeAll(t, rc, s)
		if more := violations(t, rec, 0); len(more) != 0 {
			t.Fatalf("groups logged again: %v", more)
		}
	})

	t.Run("NewGroupsLoggedAtClose", func(t *testing.T) {
		s := newStore(t)
		rc, rec := receiver(t, s)
		var want []string
		for g := range 3 {
			want = append(want, Post(t, rc, Legacy(g, "https://app.example/", "", "")))
		}
		closeAll(t, rc, s)
		got := violations(t, rec, 0)
		if strings.Join(sorted(got), ",") != strings.Join(sorted(want), ",") {
			t.Fatalf("after Close, violation events for groups %v, want %v", got, want)
		}
	})

	t.Run("PathSecretsNotStored", func(t *testing.T) {
		s := newStore(t)
		rc, rec := receiver(t, s)
		const token = "8f14e45fceea167a5a36dedd4bea2543"
		fp := Post(t, rc, Legacy(1,
			"https://app.example/password-reset/"+token+"/confirm;jsessionid=Q1w2E3r4T5y6?next=/",
			"https://app.example/static/app.js;jsessionid=Q1w2E3r4T5y6",
			"https://app.example/invite/"+token+";jsessionid=Q1w2E3r4T5y6"))
		fp2 := Post(t, rc, Legacy(2, "https://app.example/account;JSESSIONID=Q1w2E3r4T5y6", "", ""))
		must(t, rc.Close(ctx)) // the store stays open, to be read
		gs, err := s.Groups(ctx, cspreport.GroupQuery{})
		must(t, err)
		if len(gs) != 2 {
			t.Fatalf("%d groups, want 2: %+v", len(gs), gs)
		}
		for _, g := range gs {
			if g.Fingerprint == fp {
				eq(t, "group path", g.DocumentPath, "/password-reset/:id/confirm")
				eq(t, "group source", g.ExampleSource, "https://app.example/static/app.js:7:3")
			}
			if g.Fingerprint == fp2 {
				eq(t, "group path", g.DocumentPath, "/account")
			}
		}
		ds, err := s.Details(ctx, fp, 0)
		must(t, err)
		if len(ds) != 1 {
			t.Fatalf("details %+v", ds)
		}
		eq(t, "document", ds[0].ExampleDocument, "https://app.example/password-reset/:id/confirm")
		eq(t, "source", ds[0].SourceFile, "https://app.example/static/app.js")
		eq(t, "blocked", ds[0].ExampleBlocked, "https://cdn1.example/x.js")
		stored := fmt.Sprintf("%+v %+v", gs, ds)
		for _, e := range rec.Take() {
			stored += fmt.Sprint(e.Fields)
		}
		for _, secret := range []string{token, "Q1w2E3r4T5y6", "jsessionid", "JSESSIONID"} {
			if strings.Contains(stored, secret) {
				t.Errorf("%q is stored or logged", secret)
			}
		}
		if t.Failed() {
			t.Logf("stored and logged: %s", stored)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Save(cctx, Batch(Rep(1, 1, T0))); err == nil {
			t.Error("Save with a canceled context: nil error")
		}
		if _, err := s.Groups(cctx, cspreport.GroupQuery{}); err == nil {
			t.Error("Groups with a canceled context: nil error")
		}
		if gs, _ := s.Groups(ctx, cspreport.GroupQuery{}); len(gs) != 0 {
			t.Errorf("a canceled Save stored %v", gs)
		}
	})
}

// receiver returns a receiver in front of s, without rate limit, and
// the recorder of its security events.
func receiver(t *testing.T, s cspreport.Store) (*cspreport.Receiver, *seclogtest.Recorder) {
	t.Helper()
	log, rec := seclogtest.New(t)
	rc, err := cspreport.New(cspreport.Config{Store: s, Logger: log, RateLimit: cspreport.RateLimit{Disabled: true}})
	must(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rc.Close(ctx) //nolint:errcheck // closed by the test already, mostly
	})
	return rc, rec
}

// Legacy is a report-uri body of group g (its blocked origin is
// https://cdnG.example) on document, with a source file and a referrer.
func Legacy(g int, document, source, referrer string) string {
	body := map[string]any{
		"document-uri": document, "referrer": referrer, "effective-directive": "script-src-elem",
		"violated-directive": "script-src-elem", "original-policy": "script-src 'self'", "disposition": "enforce",
		"blocked-uri": fmt.Sprintf("https://cdn%d.example/x.js?q=1", g), "status-code": 200,
	}
	if source != "" {
		body["source-file"], body["line-number"], body["column-number"] = source, 7, 3
	}
	b, err := json.Marshal(map[string]any{"csp-report": body})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Post sends body to rc, wants 204, and returns the fingerprint of the
// group it makes.
func Post(t *testing.T, rc *cspreport.Receiver, body string) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/csp-report", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/csp-report")
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	return fingerprint(t, body)
}

// fingerprint is the group fingerprint the receiver gives body: the
// group of the report a memory store keeps of it.
func fingerprint(t *testing.T, body string) string {
	t.Helper()
	m := cspreport.NewMemoryStore()
	rc, err := cspreport.New(cspreport.Config{Store: m, Logger: seclog.Discard(), RateLimit: cspreport.RateLimit{Disabled: true}})
	must(t, err)
	defer rc.Close(context.Background()) //nolint:errcheck // a memory store
	r := httptest.NewRequest(http.MethodPost, "/csp-report", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/csp-report")
	rc.ServeHTTP(httptest.NewRecorder(), r)
	gs, err := m.Groups(context.Background(), cspreport.GroupQuery{})
	must(t, err)
	if len(gs) != 1 {
		t.Fatalf("%d groups from one report", len(gs))
	}
	return gs[0].Fingerprint
}

// violations returns the groups of the cspreport.violation events logged,
// waiting (up to a generous bound) until there are at least n.
func violations(t *testing.T, rec *seclogtest.Recorder, n int) []string {
	t.Helper()
	var fps []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, e := range rec.Take() {
			if e.Name == "cspreport.violation" {
				fps = append(fps, fmt.Sprint(e.Fields["group"]))
			}
		}
		if len(fps) >= n {
			return fps
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d violation events after 15 s, want %d: %v", len(fps), n, fps)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closeAll closes the receiver, then the store if it can be closed, as a
// server that stops does.
func closeAll(t *testing.T, rc *cspreport.Receiver, s cspreport.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, rc.Close(ctx))
	if c, ok := s.(interface{ Close() error }); ok {
		must(t, c.Close())
	}
}

func eq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s %q, want %q", what, got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func must2(_ []string, err error) {
	if err != nil {
		panic(err)
	}
}

// Batch is the batch of a group commit of reps (each at its own
// OccurredAt and ReceivedAt).
func Batch(reps ...cspreport.Report) *cspreport.Batch {
	b := &cspreport.Batch{}
	for i := range reps {
		b.Add(&reps[i])
	}
	return b
}

// Save saves b in s.
func Save(ctx context.Context, s cspreport.Store, b *cspreport.Batch) ([]string, error) {
	return s.Save(ctx, b)
}

// stamp is a time as stores keep it.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
