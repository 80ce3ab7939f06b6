package sqlstore

// Crash abandons s as a killed process would: the folder stops, the
// journal's files and lock are released, nothing is folded.
func Crash(s *Store) {
	close(s.quit)
	s.folder.Wait()
	if s.fj != nil {
		s.fj.close()
	}
}
