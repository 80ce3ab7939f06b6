package testenv

import (
	"testing"
)

// PrivatePG is a PostgreSQL cluster of one test's own, started by
// [PrivatePostgres]: unlike the shared server of BULWARK_POSTGRES_URL,
// which other packages' tests use at the same time, a test may pause it
// ([PrivatePG.Stop]) and resume it ([PrivatePG.Cont]) as an operator's
// SIGSTOP, a frozen virtual machine or a swapped-out host would.
//
// Starting one costs an initdb and a server start (about a second or two);
// tests that need only a database use [Postgres] and its schemas.
type PrivatePG struct {
	t       testing.TB
	url     string
	dir     string // owned by the test, removed at cleanup
	data    string // the cluster's data directory, under dir
	bin     string // directory of initdb, pg_ctl, postgres
	asUser  *pgUser
	stopped []int // pids sent SIGSTOP by Stop and not yet continued
}

// pgUser is the account the cluster runs as when the test runs as root.
type pgUser struct {
	uid, gid uint32
}

// URL is the cluster's connection URL: the superuser postgres, trust
// authentication, the database postgres, over TCP on 127.0.0.1 (never the
// unix socket, so that a store's connect timeouts apply as they would
// against a remote server).
func (p *PrivatePG) URL() string { return p.url }

// PrivatePostgres starts a PostgreSQL cluster of t's own on a free loopback
// port and stops it (pg_ctl stop -m immediate, after resuming it if it is
// paused) when t ends. It needs the server binaries (initdb, pg_ctl): the
// newest under /usr/lib/postgresql/*/bin (Debian's layout, as .ci/run
// installs them) or else in PATH; without them it skips t, or fails it
// under BULWARK_REQUIRE_SERVERS=1 (see [Missing]). Run as root, it runs
// the server as the user postgres, as PostgreSQL refuses to run as root;
// the cluster's directory is then made in os.TempDir() (TMPDIR), which
// that user must be able to reach (/tmp is). A cluster left running by a
// test process that died before its cleanup is stopped by the next call.
//
// fsync is off: the cluster is thrown away, and a crash of the machine is
// not what such tests are about.
func PrivatePostgres(t testing.TB) *PrivatePG {
	t.Helper()
	return startPrivatePG(t)
}
