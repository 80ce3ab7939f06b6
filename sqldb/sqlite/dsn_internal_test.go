package sqlite

import "testing"

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn    string
		name   string
		memory bool
	}{
		{"sqlite:data/bulwark.db", "data/bulwark.db", false},
		{"sqlite:///var/lib/bulwark.db", "/var/lib/bulwark.db", false},
		{"sqlite://bulwark.db?_busy_timeout=100", "bulwark.db", false},
		{"SQLITE:x.db", "x.db", false},
		{"sqlite::memory:", ":memory:", true},
		{":memory:", ":memory:", true},
		{"file::memory:", "file::memory:", true},
		{"file:x?mode=memory&cache=shared", "file:x", true},
		{"file:/tmp/x.db?mode=rwc", "file:/tmp/x.db", false},
		{"/tmp/x.db", "/tmp/x.db", false},
		{"x.db", "x.db", false},
		{`C:\data\x.db`, `C:\data\x.db`, false},
	}
	for _, tt := range tests {
		got, err := parseDSN(tt.dsn)
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tt.dsn, err)
			continue
		}
		if got.name != tt.name || got.memory != tt.memory {
			t.Errorf("parseDSN(%q) = %q memory=%v, want %q memory=%v", tt.dsn, got.name, got.memory, tt.name, tt.memory)
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
