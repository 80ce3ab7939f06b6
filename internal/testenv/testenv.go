// Package testenv gives tests the real servers and shared data they need.
//
// Tests that need PostgreSQL, Redis or Chromium call [Postgres], [Redis] or
// [Chromium]. Each reads its environment variable (BULWARK_POSTGRES_URL,
// BULWARK_REDIS_ADDR, BULWARK_CHROMIUM) and skips the test with a clear
// message when it is unset. When BULWARK_REQUIRE_SERVERS=1 (as .ci/run sets
// it), a missing server fails the test instead of skipping it, so a CI run
// cannot pass by testing nothing.
//
// [Browser] (and [BrowserWith], for a self-signed TLS server) starts that
// Chromium headless through chromedp and returns a context with one tab, which
// the test's end closes.
//
// [PrivatePostgres] starts a PostgreSQL cluster of one test's own (from the
// server binaries, as .ci/run does), for fault tests that pause the server
// with SIGSTOP, which the shared one cannot be; [NewFaultProxy] stands
// between a client and a server and stops forwarding, as a partition does.
//
// [Testdata] finds the project's shared test corpus (../shared/testdata beside
// the repository) in the same way.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Environment variables read by this package.
const (
	EnvPostgres       = "BULWARK_POSTGRES_URL"
	EnvRedis          = "BULWARK_REDIS_ADDR"
	EnvChromium       = "BULWARK_CHROMIUM"
	EnvRequireServers = "BULWARK_REQUIRE_SERVERS"
	EnvTestdata       = "BULWARK_TESTDATA"
)

// Required reports whether missing servers and data are failures rather
// than reasons to skip (BULWARK_REQUIRE_SERVERS=1).
func Required() bool {
	return os.Getenv(EnvRequireServers) == "1"
}

// Missing skips the test with msg, or fails it when [Required] is true.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (and %s=1, so this is a failure, not a skip)", msg, EnvRequireServers)
	}
	t.Skip(msg)
}

func need(t testing.TB, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		Missing(t, env+" is not set: this test needs "+what)
	}
	return v
}

// Postgres returns the PostgreSQL connection URL from BULWARK_POSTGRES_URL.
func Postgres(t testing.TB) string {
	t.Helper()
	return need(t, EnvPostgres, "a PostgreSQL server (a postgres:// URL)")
}

// Redis returns the Redis address (host:port) from BULWARK_REDIS_ADDR.
func Redis(t testing.TB) string {
	t.Helper()
	return need(t, EnvRedis, "a Redis server (host:port)")
}

// Chromium returns the path of the Chromium binary from BULWARK_CHROMIUM.
func Chromium(t testing.TB) string {
	t.Helper()
	return need(t, EnvChromium, "a Chromium binary (its path)")
}

// Testdata returns the directory of one corpus of the shared test data
// (for example "path-confusion"). It uses BULWARK_TESTDATA when set, else it
// looks for shared/testdata in the working directory and each of its
// parents (the repository sits beside shared/). When the corpus cannot be
// found the test is skipped, or fails under BULWARK_REQUIRE_SERVERS=1.
func Testdata(t testing.TB, corpus string) string {
	t.Helper()
	if dir := os.Getenv(EnvTestdata); dir != "" {
		p := filepath.Join(dir, corpus)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s but %s is missing: %v", EnvTestdata, dir, p, err)
		}
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; {
		p := filepath.Join(dir, "shared", "testdata", corpus)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	Missing(t, "shared/testdata/"+corpus+" not found beside the repository (set "+EnvTestdata+")")
	return ""
}

// Must returns v, and panics if err is not nil: for test set-ups whose
// configuration is known good.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
