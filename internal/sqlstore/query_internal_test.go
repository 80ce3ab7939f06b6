package sqlstore

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT ?", "SELECT $1"},
		{"INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)"},
		{"SELECT * FROM t WHERE a = ? AND b = '?' AND c = ?", "SELECT * FROM t WHERE a = $1 AND b = '?' AND c = $2"},
		{"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{`SELECT "odd?col" FROM t WHERE x = ?`, `SELECT "odd?col" FROM t WHERE x = $1`},
		{`SELECT "a""?" , ?`, `SELECT "a""?" , $1`},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"SELECT ? /* what? */, ?", "SELECT $1 /* what? */, $2"},
		{"SELECT ?2, ?1", "SELECT $2, $1"},
		{"SELECT ?3, ?, ?1, ?", "SELECT $3, $4, $1, $5"},
		{"UPDATE t SET a = ?1 WHERE b = ?1", "UPDATE t SET a = $1 WHERE b = $1"},
		{"SELECT ?, 'unterminated ?", "SELECT $1, 'unterminated ?"},
		{"SELECT ? -- comment ? at end", "SELECT $1 -- comment ? at end"},
		{"SELECT ? /* open ?", "SELECT $1 /* open ?"},
		{"SELECT '', ?", "SELECT '', $1"},
		{"SELECT 'é?', ?", "SELECT 'é?', $1"},
		{"a-b/c?", "a-b/c$1"},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestQueryFor(t *testing.T) {
	q := Query{SQLite: "S ?", Postgres: "P $1"}
	if got := q.For(SQLite); got != "S ?" {
		t.Errorf("For(SQLite) = %q", got)
	}
	if got := q.For(Postgres); got != "P $1" {
		t.Errorf("For(Postgres) = %q", got)
	}
	if got := (Query{SQLite: "S"}).For(Postgres); got != "SELECT sqlstore_query_has_no_postgres_text()" {
		t.Errorf("missing Postgres text: For = %q", got)
	}
	if got := (Query{Postgres: "P", SQLite: "  \n"}).For(SQLite); got != "SELECT sqlstore_query_has_no_sqlite_text()" {
		t.Errorf("blank SQLite text: For = %q", got)
	}
	if p := Portable("SELECT ?"); p.SQLite != "SELECT ?" || p.Postgres != "SELECT $1" {
		t.Errorf("Portable = %+v", p)
	}
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn     string
		dialect Dialect
		name    string
		memory  bool
	}{
		{"postgres://u@h:5432/db?sslmode=disable", Postgres, "", false},
		{"postgresql://u@h/db", Postgres, "", false},
		{"POSTGRES://u@h/db", Postgres, "", false},
		{"sqlite:data/bulwark.db", SQLite, "data/bulwark.db", false},
		{"sqlite:///var/lib/bulwark.db", SQLite, "/var/lib/bulwark.db", false},
		{"sqlite://bulwark.db?_busy_timeout=100", SQLite, "bulwark.db", false},
		{"sqlite::memory:", SQLite, ":memory:", true},
		{":memory:", SQLite, ":memory:", true},
		{"file::memory:", SQLite, "file::memory:", true},
		{"file:x?mode=memory&cache=shared", SQLite, "file:x", true},
		{"file:/tmp/x.db?mode=rwc", SQLite, "file:/tmp/x.db", false},
		{"/tmp/x.db", SQLite, "/tmp/x.db", false},
		{"x.db", SQLite, "x.db", false},
		{`C:\data\x.db`, SQLite, `C:\data\x.db`, false},
	}
	for _, tt := range tests {
		got, err := parseDSN(tt.dsn)
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tt.dsn, err)
			continue
		}
		if got.dialect != tt.dialect || got.name != tt.name || got.memory != tt.memory {
			t.Errorf("parseDSN(%q) = %v %q memory=%v, want %v %q memory=%v",
				tt.dsn, got.dialect, got.name, got.memory, tt.dialect, tt.name, tt.memory)
		}
	}
}

func TestSQLiteDSNDefaults(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"x.db", "x.db?_busy_timeout=5000&_foreign_keys=1&_journal_mode=WAL&_synchronous=NORMAL&_time_format=sqlite&_timezone=UTC"},
		// The DSN's own settings win, in any of their spellings.
		{"x.db?_timeout=10&_fk=0&_pragma=journal_mode(DELETE)&_pragma=synchronous = FULL&_time_integer_format=unix&_timezone=Local",
			"x.db?_fk=0&_pragma=journal_mode%28DELETE%29&_pragma=synchronous+%3D+FULL&_time_integer_format=unix&_timeout=10&_timezone=Local"},
		// A pragma whose name merely starts like another is not it.
		{"x.db?_pragma=synchronousish(1)", "x.db?_busy_timeout=5000&_foreign_keys=1&_journal_mode=WAL&_pragma=synchronousish%281%29&_synchronous=NORMAL&_time_format=sqlite&_timezone=UTC"},
	}
	for _, tt := range tests {
		tg, err := parseDSN(tt.dsn)
		if err != nil {
			t.Fatal(err)
		}
		if got := sqliteDSN(tg, nil); got != tt.want {
			t.Errorf("sqliteDSN(%q)\n got %s\nwant %s", tt.dsn, got, tt.want)
		}
	}
}

func TestSQLiteFile(t *testing.T) {
	for name, want := range map[string]string{
		"data.db":                           "data.db",
		"/var/lib/a b.db":                   "/var/lib/a b.db",
		"file:data.db":                      "data.db",
		"file:///var/lib/data.db":           "/var/lib/data.db",
		"file://localhost/var/lib/x%20y.db": "/var/lib/x y.db",
	} {
		if got := sqliteFile(name); got != want {
			t.Errorf("sqliteFile(%q) = %q, want %q", name, got, want)
		}
	}
}
