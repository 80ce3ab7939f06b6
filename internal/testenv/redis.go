package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/gomodule/redigo/redis"
)

// RedisPrefix returns the address of the Redis server of BULWARK_REDIS_ADDR
// (see [Redis]: it skips the test otherwise) and a key prefix unique to t,
// whose keys are deleted when t ends: tests share the server.
func RedisPrefix(t testing.TB, pkg string) (addr, prefix string) {
	t.Helper()
	addr = Redis(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix = "bulwark-test:" + pkg + ":" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		conn, err := redis.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer conn.Close()
		keys, _ := redis.Strings(conn.Do("KEYS", prefix+"*"))
		for _, k := range keys {
			conn.Do("DEL", k)
		}
	})
	return addr, prefix
}
