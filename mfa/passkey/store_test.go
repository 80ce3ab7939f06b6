package passkey_test

import (
	"testing"

	"github.com/bulwark-go/bulwark/mfa/passkey"
	"github.com/bulwark-go/bulwark/mfa/passkey/internal/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) passkey.Store { return &passkey.MemoryStore{} })
}
