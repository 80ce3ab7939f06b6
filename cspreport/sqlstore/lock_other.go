//go:build !unix

package sqlstore

import "os"

// tryLock reports that the journal cannot be locked here: the store
// keeps its journal in the database (the journal table) instead.
func tryLock(*os.File) (bool, error) { return false, nil }
