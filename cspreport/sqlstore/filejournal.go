package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A fileJournal is the journal of a store on an SQLite file: files beside
// the database (NAME.csp-journal.SEQ) to which Save appends each batch
// with one write, folded into the database in the background. A write
// that returned is in the operating system's cache: it survives the
// process (kill -9), as an SQLite commit in WAL mode with synchronous
// NORMAL does; with synchronous FULL (or EXTRA) each write is also
// synced to the disk, so that it survives a power loss.
//
// One process owns the journal, by an exclusive lock on NAME.csp-journal.lock;
// a second process on the same database (bulwark reports, say) finds it
// locked and writes each batch in its own transaction instead. At open,
// the owner folds what a previous owner left.
//
// Records are a length and a CRC-32 (Castagnoli) of the entry, 4 bytes
// each, then the entry (journal.go). A torn last record (a crash in the
// middle of a write) fails its check and ends the file.
type fileJournal struct {
	base string   // NAME.csp-journal
	lock *os.File // held for the life of the journal
	sync bool     // fsync each write

	f    *os.File // the file written now
	seq  int      // its number
	size int64    // its size
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxRecord bounds a record read back: far above any batch.
const maxRecord = 1 << 30

// openFileJournal takes the journal of the database file dbFile, or
// returns nil, nil when another process holds it. left are the entries a
// previous owner did not fold, in order, and done the files that hold
// them (to remove once they are folded). folded is the number of the last
// file whose fold committed (journalFolded): a file numbered up to it was
// folded already (a crash came between the fold's commit and the file's
// removal) and is removed, not read; new files are numbered after it.
func openFileJournal(dbFile string, sync bool, folded int) (j *fileJournal, left [][]byte, done []string, err error) {
	base := dbFile + ".csp-journal"
	lock, err := os.OpenFile(base+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, nil, err
	}
	if ok, err := tryLock(lock); err != nil || !ok {
		lock.Close()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("lock %s.lock: %w", base, err)
		}
		return nil, nil, nil, nil
	}
	j = &fileJournal{base: base, lock: lock, sync: sync}
	files, err := filepath.Glob(base + ".*")
	if err != nil {
		j.close()
		return nil, nil, nil, err
	}
	var seqs []int
	for _, f := range files {
		if n, err := strconv.Atoi(strings.TrimPrefix(f, base+".")); err == nil && n > 0 {
			seqs = append(seqs, n)
		}
	}
	slices.Sort(seqs)
	j.seq = folded
	for _, n := range seqs {
		name := j.name(n)
		if n <= folded {
			if err := os.Remove(name); err != nil {
				j.close()
				return nil, nil, nil, err
			}
			continue
		}
		bs, err := readJournalFile(name)
		if err != nil {
			j.close()
			return nil, nil, nil, err
		}
		left = append(left, bs...)
		done = append(done, name)
		j.seq = n
	}
	if err := j.rotate(); err != nil {
		j.close()
		return nil, nil, nil, err
	}
	return j, left, done, nil
}

func (j *fileJournal) name(seq int) string { return j.base + "." + strconv.Itoa(seq) }

// fileSeq returns the number of the journal file name (0 if it has none).
func (j *fileJournal) fileSeq(name string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(name, j.base+"."))
	return n
}

// readJournalFile reads the entries of a journal file, up to its end or
// to its first damaged record: only the last write can be torn.
func readJournalFile(name string) ([][]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for len(data) >= 8 {
		n := binary.LittleEndian.Uint32(data)
		sum := binary.LittleEndian.Uint32(data[4:])
		if n > maxRecord || uint64(n) > uint64(len(data)-8) {
			break
		}
		entry := data[8 : 8+n]
		if crc32.Checksum(entry, castagnoli) != sum {
			break
		}
		out = append(out, entry)
		data = data[8+n:]
	}
	return out, nil
}

// rotate starts a new file; the caller folds what the old one holds.
func (j *fileJournal) rotate() error {
	f, err := os.OpenFile(j.name(j.seq+1), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if j.f != nil {
		j.f.Close()
	}
	j.seq++
	j.f, j.size = f, 0
	return nil
}

// recordHeader is the length of a record's header: the entry's length and
// CRC.
const recordHeader = 8

// append writes one record, rec: recordHeader bytes that append fills in,
// then the entry. A failed write is cut off again, so that the records
// written after it stay readable; if even that fails, the journal is
// broken and the error says so.
func (j *fileJournal) append(rec []byte) error {
	entry := rec[recordHeader:]
	binary.LittleEndian.PutUint32(rec, uint32(len(entry)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(entry, castagnoli))
	_, err := j.f.Write(rec)
	if err == nil && j.sync {
		err = j.f.Sync()
	}
	if err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			return fmt.Errorf("journal %s: %w (and cutting the failed write off: %v)", j.f.Name(), err, terr)
		}
		return fmt.Errorf("journal %s: %w", j.f.Name(), err)
	}
	j.size += int64(len(rec))
	return nil
}

// close closes the current file and releases the lock. Files are left for
// the next owner unless removed before.
func (j *fileJournal) close() error {
	var err error
	if j.f != nil {
		err = j.f.Close()
	}
	return errors.Join(err, j.lock.Close())
}
