package main

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/sqldb"
)

// sessionStore keeps the demo's scs sessions in its database (scs's
// default store is the process's memory): a restart keeps everyone logged
// in, and several demos on one database share their sessions. It is an
// scs.CtxStore, and an scs.IterableCtxStore so that a provider's
// back-channel logout can find the sessions of one provider session
// (scs.SessionManager.Iterate); sessionexpiry wraps it.
type sessionStore struct {
	db *sqldb.DB
}

var (
	_ scs.CtxStore         = (*sessionStore)(nil)
	_ scs.IterableCtxStore = (*sessionStore)(nil)
)

var (
	qSessionFind   = sqldb.Portable(`SELECT data FROM demo_sessions WHERE token = ? AND expiry > ?`)
	qSessionCommit = sqldb.Portable(`INSERT INTO demo_sessions (token, data, expiry) VALUES (?, ?, ?)
ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`)
	qSessionDelete = sqldb.Portable(`DELETE FROM demo_sessions WHERE token = ?`)
	qSessionPurge  = sqldb.Portable(`DELETE FROM demo_sessions WHERE expiry <= ?`)
	qSessionAll    = sqldb.Portable(`SELECT token, data FROM demo_sessions WHERE expiry > ?`)
)

// newSessionStore returns the store on db (migrated by newUserStore) and
// deletes the expired sessions now and then every interval until ctx ends.
func newSessionStore(ctx context.Context, db *sqldb.DB, interval time.Duration) *sessionStore {
	s := &sessionStore{db: db}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			_ = s.purge(ctx) // a failed purge is retried at the next tick
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// FindCtx returns the data of the session token, and whether there is an
// unexpired one.
func (s *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.db.Reader().QueryRowContext(ctx, s.db.Q(qSessionFind), token, time.Now().UTC()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// CommitCtx stores the session, replacing any with the same token.
func (s *sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := s.db.Writer().ExecContext(ctx, s.db.Q(qSessionCommit), token, b, expiry.UTC())
	return err
}

// DeleteCtx removes the session; deleting one that does not exist is not
// an error.
func (s *sessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.db.Writer().ExecContext(ctx, s.db.Q(qSessionDelete), token)
	return err
}

// AllCtx returns every unexpired session, by token: what
// scs.SessionManager.Iterate walks. It reads the whole table, so its
// callers are rare events (a provider's back-channel logout), never a
// request path.
func (s *sessionStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.Reader().QueryContext(ctx, s.db.Q(qSessionAll), time.Now().UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	all := make(map[string][]byte)
	for rows.Next() {
		var token string
		var b []byte
		if err := rows.Scan(&token, &b); err != nil {
			return nil, err
		}
		all[token] = b
	}
	return all, rows.Err()
}

// All is the context-free method of scs.IterableStore.
func (s *sessionStore) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}

// Find, Commit and Delete are the context-free methods of scs.Store; scs
// calls the Ctx ones.
func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *sessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// purge deletes the expired sessions.
func (s *sessionStore) purge(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.db.Writer().ExecContext(ctx, s.db.Q(qSessionPurge), time.Now().UTC())
	return err
}
