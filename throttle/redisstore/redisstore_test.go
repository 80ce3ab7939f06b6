package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/throttle/internal/storetest"
	"github.com/bulwark-go/bulwark/throttle/redisstore"
	"github.com/redis/go-redis/v9"
)

// client returns a Redis client and a key prefix of the test's own.
func client(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	var b [8]byte
	_, _ = rand.Read(b[:])
	return rdb, "bulwark-test:" + hex.EncodeToString(b[:]) + ":"
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) throttle.Store {
		rdb, prefix := client(t)
		return redisstore.New(rdb, prefix)
	})
}

// TestStoreDown: a Redis that does not answer is an error, never a pass.
func TestStoreDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	s := redisstore.New(rdb, "")
	if _, err := s.Take(t.Context(), storetestNow, []throttle.Counter{{Key: "k", Rule: throttle.DefaultPair}}); err == nil {
		t.Error("Take on a closed port: no error")
	}
	if err := s.Delete(t.Context(), "k"); err == nil {
		t.Error("Delete on a closed port: no error")
	}
	if err := s.DeletePrefix(t.Context(), "k"); err == nil {
		t.Error("DeletePrefix on a closed port: no error")
	}
	if err := s.DeletePrefix(t.Context(), ""); err == nil {
		t.Error("DeletePrefix of an empty prefix: no error")
	}
}

var storetestNow = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// TestDefaultPrefix: a store made with the prefix "" writes its keys
// under DefaultPrefix.
//
// Equivalent mutant: `1+4*len(counters)` as `1+4/len(counters)` in
// Take's make only changes the capacity of the argument slice.
func TestDefaultPrefix(t *testing.T) {
	rdb, unique := client(t)
	s := redisstore.New(rdb, "")
	key := unique + "k"
	t.Cleanup(func() { rdb.Del(context.Background(), redisstore.DefaultPrefix+key) })
	if _, err := s.Take(t.Context(), storetestNow, []throttle.Counter{{Key: key, Rule: throttle.DefaultPair}}); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(t.Context(), redisstore.DefaultPrefix+key).Result(); err != nil || n != 1 {
		t.Fatalf("key %q under the default prefix: %d, %v", redisstore.DefaultPrefix+key, n, err)
	}
}
