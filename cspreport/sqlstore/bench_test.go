package sqlstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/internal/storetest"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/seclog"
)

const benchLegacy = `{"csp-report":{"document-uri":"https://shop.example/cart/%d?session=abc","referrer":"https://shop.example/","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"default-src 'self'; script-src 'self' 'nonce-abc'; object-src 'none'; base-uri 'none'; report-uri /csp-report; report-to csp","disposition":"enforce","blocked-uri":"https://cdn%d.evil.example/x.js?v=1","line-number":%d,"column-number":7,"source-file":"https://shop.example/app.js","status-code":200,"script-sample":""}}`

// BenchmarkReceiverSQLite: accepted reports per second through the
// handler, each 204 after its group commit on an SQLite file (WAL,
// synchronous NORMAL), 32 concurrent requests. "same" is one violation
// repeated (one group, one detail); "distinct" makes a new detail per
// report and a new group every 8. "/linger" waits the whole flush
// interval (2ms) for more reports before each commit.
func BenchmarkReceiverSQLite(b *testing.B) {
	for _, c := range []struct {
		mode   string
		linger bool
	}{{"same", false}, {"distinct", false}, {"same", true}, {"distinct", true}} {
		mode, name := c.mode, c.mode
		if c.linger {
			name += "/linger"
		}
		b.Run(name, func(b *testing.B) {
			store, err := openStore(b, sqlstoretest.SQLiteDSN(b))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			rc, err := cspreport.New(cspreport.Config{Store: store, Logger: seclog.Discard(), RateLimit: cspreport.RateLimit{Disabled: true}, Linger: c.linger})
			if err != nil {
				b.Fatal(err)
			}
			defer rc.Close(context.Background())
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(n.Add(1))
					body := fmt.Sprintf(benchLegacy, 1, 1, 1)
					if mode == "distinct" {
						body = fmt.Sprintf(benchLegacy, i%100, i/8, i)
					}
					r := httptest.NewRequest("POST", "/csp-report", strings.NewReader(body))
					r.Header.Set("Content-Type", "application/csp-report")
					w := httptest.NewRecorder()
					rc.ServeHTTP(w, r)
					if w.Code != 204 {
						b.Errorf("status %d", w.Code)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

// BenchmarkSaveSQLite: the store alone, one transaction of 256 distinct
// reports.
func BenchmarkSaveSQLite(b *testing.B) {
	store, err := openStore(b, sqlstoretest.SQLiteDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		batch := &cspreport.Batch{}
		for range 256 {
			k++
			r := storetest.Rep(k/8, k, storetest.T0)
			batch.Add(&r)
		}
		if _, err := store.Save(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "rows/s")
}
