package throttle_test

import (
	"testing"

	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/throttle/internal/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) throttle.Store { return throttle.NewMemoryStore(0) })
}
