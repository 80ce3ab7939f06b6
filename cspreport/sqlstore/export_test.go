package sqlstore

import "context"

// Crash abandons s as a killed process would: the folder stops, the
// journal's files and lock are released, nothing is folded.
func Crash(s *Store) {
	if s.j != nil {
		close(s.j.quit)
		s.j.folder.Wait()
		s.j.fj.close()
	}
}

// Flush folds s's journal now, as a read does first.
func Flush(ctx context.Context, s *Store) error { return s.flush(ctx) }
