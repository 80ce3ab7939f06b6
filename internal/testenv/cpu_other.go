//go:build !unix

package testenv

import "time"

// ProcessCPU returns 0: the CPU time is not read on this system.
func ProcessCPU() time.Duration { return 0 }
