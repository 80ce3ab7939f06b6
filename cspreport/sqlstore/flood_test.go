package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/seclog"
)

// TestFloodLoopback: 16 connections post distinct legacy reports and
// 3-report batches to a real server on 127.0.0.1 (SQLite), for at most
// 3 seconds or 6000 requests. Every answer is 204 or 503 (never an
// accepted-then-dropped report): the store then holds exactly the reports
// that got a 204. A small queue makes overload (503) likely on purpose.
// "floor" is a bare handler that decodes the JSON and answers 204, the
// reference of docs/performance.md.
func TestFloodLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test: not in -short")
	}
	for _, queue := range []int{0, 8, -1} {
		name := fmt.Sprintf("queue=%d", queue)
		if queue < 0 {
			name = "floor"
		}
		t.Run(name, func(t *testing.T) {
			store, err := openStore(t, sqlstoretest.SQLiteDSN(t))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			rc, err := cspreport.New(cspreport.Config{Store: store, Logger: seclog.Discard(), QueueSize: max(queue, 0),
				RateLimit: cspreport.RateLimit{Disabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			var handler http.Handler = rc
			if queue < 0 {
				// The floor: decode the JSON and answer 204, store nothing.
				handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					var v any
					if json.NewDecoder(r.Body).Decode(&v) != nil {
						w.WriteHeader(400)
						return
					}
					w.WriteHeader(204)
				})
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
			go srv.Serve(ln)
			url := "http://" + ln.Addr().String() + "/csp-report"
			tr := &http.Transport{MaxIdleConnsPerHost: 16, MaxConnsPerHost: 16}
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

			deadline := time.Now().Add(3 * time.Second)
			var sent, accepted, acceptedReports, refused atomic.Int64
			var latMu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			start := time.Now()
			for w := range 16 {
				wg.Go(func() {
					for i := 0; time.Now().Before(deadline) && sent.Add(1) <= 6000; i++ {
						k := w*100000 + i
						body, ctype, n := fmt.Sprintf(benchLegacy, k%50, k, k), "application/csp-report", int64(1)
						if i%4 == 3 {
							one := `{"type":"csp-violation","url":"https://shop.example/","body":{"documentURL":"https://shop.example/p/%d","effectiveDirective":"img-src","blockedURL":"https://img%d.example/a.png","disposition":"report","lineNumber":%d}}`
							body = "[" + fmt.Sprintf(one, k, k%30, 1) + "," + fmt.Sprintf(one, k, k%30, 2) + "," + fmt.Sprintf(one, k, k%30, 3) + "]"
							ctype, n = "application/reports+json", 3
						}
						t0 := time.Now()
						resp, err := client.Post(url, ctype, strings.NewReader(body))
						if err != nil {
							t.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						d := time.Since(t0)
						latMu.Lock()
						lat = append(lat, d)
						latMu.Unlock()
						switch resp.StatusCode {
						case 204:
							accepted.Add(1)
							acceptedReports.Add(n)
						case 503:
							refused.Add(1)
							if resp.Header.Get("Retry-After") == "" {
								t.Error("503 without Retry-After")
							}
						default:
							t.Errorf("status %d", resp.StatusCode)
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if err := rc.Close(ctx); err != nil {
				t.Fatal(err)
			}
			gs, err := store.Groups(context.Background(), cspreport.GroupQuery{Limit: 1 << 20, Muted: true})
			if err != nil {
				t.Fatal(err)
			}
			var stored int64
			for _, g := range gs {
				stored += g.Total
			}
			if queue >= 0 && stored != acceptedReports.Load() {
				t.Fatalf("%d reports answered 204, %d stored", acceptedReports.Load(), stored)
			}
			slices.Sort(lat)
			pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
			t.Logf("%d requests in %v: %d answered 204 (%d reports, %.0f reports/s), %d answered 503; latency p50 %v, p99 %v",
				accepted.Load()+refused.Load(), elapsed.Round(time.Millisecond), accepted.Load(), acceptedReports.Load(),
				float64(acceptedReports.Load())/elapsed.Seconds(), refused.Load(),
				pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
		})
	}
}
