package totp_test

import (
	"testing"

	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/mfa/totp/internal/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) totp.Store { return totp.NewMemoryStore() })
}

func TestMemoryStoreZeroValue(t *testing.T) {
	storetest.Run(t, func(*testing.T) totp.Store { return new(totp.MemoryStore) })
}
