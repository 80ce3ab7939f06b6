module github.com/bulwark-go/bulwark/bench

go 1.26.0

require (
	github.com/bulwark-go/bulwark v0.0.0
	github.com/unrolled/secure v1.17.0
	go.uber.org/zap v1.28.0
)

require go.uber.org/multierr v1.10.0 // indirect

replace github.com/bulwark-go/bulwark => ../
