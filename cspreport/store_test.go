package cspreport_test

import (
	"testing"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/internal/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) cspreport.Store { return cspreport.NewMemoryStore() })
}

func TestMemoryStoreZeroValue(t *testing.T) {
	storetest.Run(t, func(*testing.T) cspreport.Store { return new(cspreport.MemoryStore) })
}
