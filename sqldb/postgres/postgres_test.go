package postgres_test

import (
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/postgres"
)

func TestOpen(t *testing.T) {
	db := sqlstoretest.Open(t, sqlstoretest.PostgresDSN(t))
	if db.Dialect() != sqldb.Postgres || db.Reader() != db.Writer() {
		t.Errorf("Dialect %v, one pool for reads and writes: %v", db.Dialect(), db.Reader() == db.Writer())
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Closing the DB closes the pool under it: nothing answers after.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct{ url, want string }{
		{"", "must be a URL, postgres://user@host:port/database"},
		{"postgres:db", "must be a URL"},
		{"mysql://u@h/db", "must be a URL"},
		{"/var/lib/app.db", "must be a URL"},
		{"postgres://u@h/db?pool_max_conns=zero", "pool_max_conns"},
		{"postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=5", "connect"},
	}
	for _, tt := range tests {
		db, err := postgres.Open(t.Context(), tt.url)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tt.url)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sqldb/postgres: ") || strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error = %q, want it to contain %q", tt.url, err, tt.want)
		}
	}
}
