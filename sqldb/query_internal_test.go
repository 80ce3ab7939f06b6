package sqldb

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
	if got := (Query{SQLite: "S"}).For(Postgres); got != "SELECT sqldb_query_has_no_postgres_text()" {
		t.Errorf("missing Postgres text: For = %q", got)
	}
	if got := (Query{Postgres: "P", SQLite: "  \n"}).For(SQLite); got != "SELECT sqldb_query_has_no_sqlite_text()" {
		t.Errorf("blank SQLite text: For = %q", got)
	}
	if p := Portable("SELECT ?"); p.SQLite != "SELECT ?" || p.Postgres != "SELECT $1" {
		t.Errorf("Portable = %+v", p)
	}
}
