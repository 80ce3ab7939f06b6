package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark/sqldb"
)

var selectPolicy = sqldb.Portable(`SELECT policy FROM bulwark_csp_policy WHERE hash = ?`)

// Policy returns the text of the policy whose SHA-256 (hex) is hash
// ([cspreport.Detail.PolicyHash]): the store keeps each original policy
// once. It returns "" and no error for a hash it does not hold (never
// stored, or deleted with the last detail that used it). The
// policy assistant (cspreport/assistant) reads the latest policy of an
// origin this way.
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
