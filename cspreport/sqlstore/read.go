package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/sqldb"
)

// The reads: each folds the journal first, so that it sees every saved
// batch.
const groupCols = `group_fp, directive, disposition, blocked_kind, blocked_origin, document_origin, document_path, total, first_seen, last_seen, muted, example_blocked, example_source`

// retention lists what DeleteBefore deletes, in order, chunk by chunk.
// No index serves these conditions (see migration 0002): each chunk scans
// until it has found its rows, once an hour.
var retention = []sqldb.Query{
	chunked("bulwark_csp_event", "id", "received_at < ?"),
	chunked("bulwark_csp_other_report", "id", "received_at < ?"),
	chunked("bulwark_csp_group_hour", "group_fp, hour", "hour < ?"),
	chunked("bulwark_csp_counter", "hour, kind, name", "hour < ?"),
	chunked("bulwark_csp_detail", "group_fp, detail_fp", "last_seen < ?"),
	chunked("bulwark_csp_group_client", "group_fp, client_prefix", "last_seen < ?"),
	// The browser counts of the groups about to go, a chunk of groups
	// at a time.
	sqldb.Portable(`DELETE FROM bulwark_csp_group_browser WHERE group_fp IN (SELECT g.group_fp FROM bulwark_csp_group g
		WHERE g.last_seen < ? AND EXISTS (SELECT 1 FROM bulwark_csp_group_browser b WHERE b.group_fp = g.group_fp) LIMIT ?)`),
	chunked("bulwark_csp_group", "group_fp", "last_seen < ?"),
	chunked("bulwark_csp_policy", "hash", "first_seen < ? AND NOT EXISTS (SELECT 1 FROM bulwark_csp_detail d WHERE d.policy_hash = bulwark_csp_policy.hash)"),
}

// chunked deletes at most ? rows of table matching where (whose one
// parameter is the time): by primary key (the tables are WITHOUT ROWID) in
// SQLite, by ctid in PostgreSQL.
func chunked(table, key, where string) sqldb.Query {
	return sqldb.Query{
		SQLite:   sqldb.Portable(`DELETE FROM ` + table + ` WHERE (` + key + `) IN (SELECT ` + key + ` FROM ` + table + ` WHERE ` + where + ` LIMIT ?)`).SQLite,
		Postgres: sqldb.Portable(`DELETE FROM ` + table + ` WHERE ctid IN (SELECT ctid FROM ` + table + ` WHERE ` + where + ` LIMIT ?)`).Postgres,
	}
}

var (
	// groupFilter is GroupQuery's selection, with its arguments in
	// queryArgs's order: ?1 since, ?2 until, ?3 muted, ?4 fingerprint,
	// ?5 directive, ?6 disposition, ?7 document origin, ?8 browser. An
	// empty filter matches every row, so that one text serves every
	// query.
	groupFilter = `g.last_seen >= ?1 AND g.first_seen < ?2 AND (g.muted = 0 OR ?3 = 1)
		AND (?4 = '' OR g.group_fp = ?4) AND (?5 = '' OR g.directive = ?5)
		AND (?6 = '' OR g.disposition = ?6) AND (?7 = '' OR g.document_origin = ?7)
		AND (?8 = '' OR EXISTS (SELECT 1 FROM bulwark_csp_group_browser b WHERE b.group_fp = g.group_fp AND b.family = ?8))`
	// ?9 and ?10 bound the hours counted (hourArgs).
	selectGroups = sqldb.Portable(`SELECT ` + groupCols + `,
			COALESCE((SELECT SUM(h.count) FROM bulwark_csp_group_hour h WHERE h.group_fp = g.group_fp AND h.hour >= ?9 AND h.hour < ?10), 0) AS n
		FROM bulwark_csp_group g
		WHERE ` + groupFilter + `
		ORDER BY n DESC, g.last_seen DESC, g.group_fp
		LIMIT ?11`)
	countGroups = sqldb.Portable(`SELECT COUNT(*) FROM bulwark_csp_group g WHERE ` + groupFilter)
	selectHours = sqldb.Portable(`SELECT h.hour, g.directive, g.disposition, SUM(h.count)
		FROM bulwark_csp_group_hour h JOIN bulwark_csp_group g ON g.group_fp = h.group_fp
		WHERE h.hour >= ?9 AND h.hour < ?10 AND ` + groupFilter + `
		GROUP BY h.hour, g.directive, g.disposition
		ORDER BY h.hour, g.directive, g.disposition`)
	selectDetails = sqldb.Portable(`SELECT detail_fp, group_fp, source_file, line, col, sample, policy_hash, policy_version, example_document, example_blocked, example_ua, count, first_seen, last_seen
		FROM bulwark_csp_detail WHERE group_fp = ? ORDER BY count DESC, detail_fp LIMIT ?`)
	selectCounters = sqldb.Portable(`SELECT kind, name, SUM(count) AS n FROM bulwark_csp_counter WHERE hour >= ? GROUP BY kind, name ORDER BY kind, n DESC, name`)
	selectPolicy   = sqldb.Portable(`SELECT policy FROM bulwark_csp_policy WHERE hash = ?`)
	// The browsers of the groups a GroupQuery selects (its limit aside),
	// most reports first.
	selectBrowsers = sqldb.Portable(`SELECT b.group_fp, b.family, b.count FROM bulwark_csp_group_browser b
		JOIN bulwark_csp_group g ON g.group_fp = b.group_fp WHERE ` + groupFilter + `
		ORDER BY b.group_fp, b.count DESC, b.family`)
	selectEvents = sqldb.Portable(`SELECT group_fp, detail_fp, received_at, raw FROM bulwark_csp_event WHERE detail_fp = ? ORDER BY received_at DESC, id DESC LIMIT ?`)
	selectOthers = sqldb.Portable(`SELECT type, url, user_agent, client_prefix, body, received_at FROM bulwark_csp_other_report WHERE received_at >= ? ORDER BY received_at DESC, id DESC LIMIT ?`)
	updateMuted  = sqldb.Portable(`UPDATE bulwark_csp_group SET muted = ? WHERE group_fp = ?`)
)

// Groups implements [cspreport.Store].
func (s *Store) Groups(ctx context.Context, q cspreport.GroupQuery) ([]cspreport.Group, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, s.db.Q(selectGroups), append(hourArgs(&q), limitOr100(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: groups: %w", err)
	}
	defer rows.Close()
	var out []cspreport.Group
	for rows.Next() {
		var g cspreport.Group
		var m int
		if err := rows.Scan(&g.Fingerprint, &g.Directive, &g.Disposition, &g.BlockedKind, &g.BlockedOrigin,
			&g.DocumentOrigin, &g.DocumentPath, &g.Total, &g.FirstSeen, &g.LastSeen, &m, &g.ExampleBlocked,
			&g.ExampleSource, &g.Count); err != nil {
			return nil, fmt.Errorf("cspreport/sqlstore: groups: %w", err)
		}
		g.Muted = m != 0
		g.FirstSeen, g.LastSeen = g.FirstSeen.UTC(), g.LastSeen.UTC()
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: groups: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	type fam struct {
		group, family string
		n             int64
	}
	fams, err := list(ctx, s, "groups", s.db.Q(selectBrowsers), queryArgs(&q), func(rs *sql.Rows) (fam, error) {
		var f fam
		return f, rs.Scan(&f.group, &f.family, &f.n)
	})
	if err != nil {
		return nil, err
	}
	byGroup := map[string][]cspreport.BrowserCount{}
	for _, f := range fams {
		byGroup[f.group] = append(byGroup[f.group], cspreport.BrowserCount{Family: f.family, Count: f.n})
	}
	for i := range out {
		out[i].Browsers = byGroup[out[i].Fingerprint]
	}
	return out, nil
}

// Details implements [cspreport.Store].
func (s *Store) Details(ctx context.Context, groupFP string, limit int) ([]cspreport.Detail, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.Reader().QueryContext(ctx, s.db.Q(selectDetails), groupFP, limit)
	if err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: details: %w", err)
	}
	defer rows.Close()
	var out []cspreport.Detail
	for rows.Next() {
		var d cspreport.Detail
		if err := rows.Scan(&d.Fingerprint, &d.GroupFP, &d.SourceFile, &d.Line, &d.Column, &d.Sample, &d.PolicyHash,
			&d.PolicyVersion, &d.ExampleDocument, &d.ExampleBlocked, &d.ExampleUA, &d.Count, &d.FirstSeen, &d.LastSeen); err != nil {
			return nil, fmt.Errorf("cspreport/sqlstore: details: %w", err)
		}
		d.FirstSeen, d.LastSeen = d.FirstSeen.UTC(), d.LastSeen.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: details: %w", err)
	}
	return out, nil
}

// Counters implements [cspreport.Store].
func (s *Store) Counters(ctx context.Context, since time.Time) ([]cspreport.Counter, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, s.db.Q(selectCounters), hourOf(since))
	if err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: counters: %w", err)
	}
	defer rows.Close()
	var out []cspreport.Counter
	for rows.Next() {
		var c cspreport.Counter
		if err := rows.Scan(&c.Kind, &c.Name, &c.Count); err != nil {
			return nil, fmt.Errorf("cspreport/sqlstore: counters: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: counters: %w", err)
	}
	return out, nil
}

// Events implements [cspreport.Store].
func (s *Store) Events(ctx context.Context, detailFP string, limit int) ([]cspreport.Event, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	return list(ctx, s, "events", s.db.Q(selectEvents), []any{detailFP, limitOr100(limit)}, func(rs *sql.Rows) (cspreport.Event, error) {
		var e cspreport.Event
		err := rs.Scan(&e.GroupFP, &e.DetailFP, &e.ReceivedAt, &e.Raw)
		e.ReceivedAt = e.ReceivedAt.UTC()
		return e, err
	})
}

// Others implements [cspreport.Store].
func (s *Store) Others(ctx context.Context, since time.Time, limit int) ([]cspreport.OtherReport, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	return list(ctx, s, "other reports", s.db.Q(selectOthers), []any{stamp(since), limitOr100(limit)}, func(rs *sql.Rows) (cspreport.OtherReport, error) {
		var o cspreport.OtherReport
		err := rs.Scan(&o.Type, &o.URL, &o.UserAgent, &o.ClientPrefix, &o.Body, &o.ReceivedAt)
		o.ReceivedAt = o.ReceivedAt.UTC()
		return o, err
	})
}

func limitOr100(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// list runs a query on a reader and scans each row with scan.
func list[T any](ctx context.Context, s *Store, what, q string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := s.db.Reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("cspreport/sqlstore: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: %s: %w", what, err)
	}
	return out, nil
}

// CountGroups implements [cspreport.Store].
func (s *Store) CountGroups(ctx context.Context, q cspreport.GroupQuery) (int, error) {
	if err := s.flush(ctx); err != nil {
		return 0, err
	}
	var n int
	if err := s.db.Reader().QueryRowContext(ctx, s.db.Q(countGroups), queryArgs(&q)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("cspreport/sqlstore: count groups: %w", err)
	}
	return n, nil
}

// Mute implements [cspreport.Store].
func (s *Store) Mute(ctx context.Context, groupFP string, muted bool) error {
	if err := s.flush(ctx); err != nil {
		return err
	}
	m := 0
	if muted {
		m = 1
	}
	res, err := s.db.Writer().ExecContext(ctx, s.db.Q(updateMuted), m, groupFP)
	if err != nil {
		return fmt.Errorf("cspreport/sqlstore: mute: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return cspreport.ErrNotFound
	}
	return nil
}

// DeleteBefore implements [cspreport.Store]: each table is trimmed in
// transactions of at most chunk rows, so that a large purge never holds
// the writer for long.
func (s *Store) DeleteBefore(ctx context.Context, before time.Time, chunk int) (int64, error) {
	if err := s.flush(ctx); err != nil {
		return 0, err
	}
	if chunk <= 0 {
		chunk = 1000
	}
	before = stamp(before)
	var total int64
	for _, q := range retention {
		for {
			var n int64
			err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, s.db.Q(q), before, chunk)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, fmt.Errorf("cspreport/sqlstore: delete before %v: %w", before, err)
			}
			total += n
			if n < int64(chunk) {
				break
			}
		}
	}
	if s.j != nil {
		s.j.forget()
	}
	return total, nil
}

// GroupClients implements [cspreport.Store].
func (s *Store) GroupClients(ctx context.Context, groups []string, since time.Time) (map[string][]string, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for len(groups) > 0 {
		n := min(len(groups), maxRows)
		args := []any{stamp(since)}
		for _, g := range groups[:n] {
			args = append(args, g)
		}
		q := s.db.Q(sqldb.Portable(`SELECT group_fp, client_prefix FROM bulwark_csp_group_client
			WHERE last_seen >= ? AND group_fp IN (?` + strings.Repeat(",?", n-1) + `) ORDER BY group_fp, client_prefix`))
		type gc struct{ group, client string }
		cs, err := list(ctx, s, "group clients", q, args, func(rs *sql.Rows) (gc, error) {
			var c gc
			return c, rs.Scan(&c.group, &c.client)
		})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out[c.group] = append(out[c.group], c.client)
		}
		groups = groups[n:]
	}
	return out, nil
}

// Policy implements [cspreport.Store]: the store keeps each original
// policy once.
func (s *Store) Policy(ctx context.Context, hash string) (string, error) {
	if err := s.flush(ctx); err != nil {
		return "", err
	}
	var p string
	err := s.db.Reader().QueryRowContext(ctx, s.db.Q(selectPolicy), hash).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cspreport/sqlstore: policy: %w", err)
	}
	return p, nil
}

// Hours implements [cspreport.Store].
func (s *Store) Hours(ctx context.Context, q cspreport.GroupQuery) ([]cspreport.HourCount, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	return list(ctx, s, "hours", s.db.Q(selectHours), hourArgs(&q), func(rs *sql.Rows) (cspreport.HourCount, error) {
		var h cspreport.HourCount
		err := rs.Scan(&h.Hour, &h.Directive, &h.Disposition, &h.Count)
		h.Hour = h.Hour.UTC()
		return h, err
	})
}

// farFuture stands for a GroupQuery without Until: later than any
// stored time, in both dialects.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// queryArgs returns the arguments ?1 to ?8 of groupFilter.
func queryArgs(q *cspreport.GroupQuery) []any {
	muted := 0
	if q.Muted {
		muted = 1
	}
	return []any{stamp(q.Since), until(q), muted, q.Fingerprint, q.Directive, q.Disposition, q.DocumentOrigin, q.Browser}
}

// hourArgs returns queryArgs and the bounds of the hours counted, ?9
// and ?10.
func hourArgs(q *cspreport.GroupQuery) []any {
	return append(queryArgs(q), hourOf(q.Since), until(q))
}

// until is q.Until as stored, or farFuture.
func until(q *cspreport.GroupQuery) time.Time {
	if q.Until.IsZero() {
		return farFuture
	}
	return stamp(q.Until)
}
