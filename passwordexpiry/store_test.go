package passwordexpiry_test

import (
	"testing"

	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/passwordexpiry/internal/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) passwordexpiry.Store { return passwordexpiry.NewMemoryStore() })
}

func TestMemoryStoreZeroValue(t *testing.T) {
	storetest.Run(t, func(*testing.T) passwordexpiry.Store { return new(passwordexpiry.MemoryStore) })
}
