//go:build !linux

package testenv

import "testing"

// startPrivatePG skips (or fails, see [Missing]) where there is no /proc:
// Stop finds the cluster's processes there.
func startPrivatePG(t testing.TB) *PrivatePG {
	t.Helper()
	Missing(t, "PrivatePostgres needs Linux (it finds the cluster's processes through /proc)")
	return nil
}

// Stop is not available off Linux: see [PrivatePostgres].
func (p *PrivatePG) Stop() {}

// Cont is not available off Linux: see [PrivatePostgres].
func (p *PrivatePG) Cont() {}
