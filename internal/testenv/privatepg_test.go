package testenv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestPrivatePostgres: the private cluster answers; stopped, it accepts
// no new session and answers nothing on an open one; continued, both
// work again.
func TestPrivatePostgres(t *testing.T) {
	start := time.Now()
	pg := testenv.PrivatePostgres(t)
	t.Logf("started in %v", time.Since(start))

	query := func(conn *pgx.Conn, limit time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		var n int
		if err := conn.QueryRow(ctx, "SELECT 6*7").Scan(&n); err != nil {
			return err
		}
		if n != 42 {
			t.Fatalf("SELECT 6*7 = %d", n)
		}
		return nil
	}
	connect := func(limit time.Duration) (*pgx.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		return pgx.Connect(ctx, pg.URL())
	}
	open, err := connect(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close(context.Background())
	if err := query(open, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	pg.Stop()
	if err := query(open, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a query on an open session of a stopped cluster: %v, want a timeout", err)
	}
	if c, err := connect(300 * time.Millisecond); err == nil {
		c.Close(context.Background())
		t.Errorf("a new session on a stopped cluster: connected, want a timeout")
	}
	pg.Stop() // again: harmless
	pg.Cont()

	again, err := connect(10 * time.Second)
	if err != nil {
		t.Fatalf("after Cont: %v", err)
	}
	defer again.Close(context.Background())
	if err := query(again, 10*time.Second); err != nil {
		t.Fatalf("after Cont: %v", err)
	}
}
