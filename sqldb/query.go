package sqldb

import (
	"strconv"
	"strings"
)

// Query is one query written for both dialects, side by side. Declare a
// store's queries once, as package variables, and pick the text with
// [DB.Q] when running them:
//
//	var deleteExpired = sqldb.Query{
//		SQLite:   `DELETE FROM sessions WHERE expires_at < ?`,
//		Postgres: `DELETE FROM sessions WHERE expires_at < $1`,
//	}
//
// When the two texts differ only by their placeholders, write it once with
// [Portable].
type Query struct {
	// SQLite is the statement in SQLite's dialect, with ? placeholders.
	SQLite string
	// Postgres is the statement in PostgreSQL's dialect, with $1, $2 …
	// placeholders.
	Postgres string
}

// Portable returns the Query whose SQLite text is text and whose PostgreSQL
// text is text with its placeholders rebound: each ? becomes $1, $2 … in
// order and ?NNN becomes $NNN, with SQLite's own numbering rules (a bare ?
// after ?3 is $4). Question marks inside string literals ('…'), quoted
// identifiers ("…") and comments are left alone. Call it once, for a package
// variable, not per request.
func Portable(text string) Query {
	return Query{SQLite: text, Postgres: rebind(text)}
}

// For returns the text of q for dialect d. If q has no text for d, For
// returns a statement that fails when it runs, with an error that names
// the missing dialect ("sqldb_query_has_no_postgres_text"), so that a
// forgotten dialect is a store error, never a silent no-op nor a panic.
func (q Query) For(d Dialect) string {
	var s string
	switch d {
	case SQLite:
		s = q.SQLite
	case Postgres:
		s = q.Postgres
	}
	if strings.TrimSpace(s) == "" {
		return "SELECT sqldb_query_has_no_" + d.String() + "_text()"
	}
	return s
}

// rebind turns SQLite placeholders (? and ?NNN) into PostgreSQL ones ($N).
func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	last := 0 // the largest parameter number so far
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			// A literal or quoted identifier; a doubled quote inside it
			// ends it and starts the next, which comes to the same.
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+1])
			i += end
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+4])
			i += end + 3
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := last + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			last = max(last, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
