package redisstore_test

import (
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/throttle/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every instance of a site counts on one Redis.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	th, err := throttle.New(throttle.Config{Store: redisstore.New(rdb, "")})
	if err != nil {
		panic(err)
	}
	_ = th // th.Check(r, username) in the login handler
}
