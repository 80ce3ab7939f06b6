// Package bench compares bulwark's middlewares with other libraries, side
// by side in one `go test -bench` run. It is its own module so that users
// of bulwark do not inherit the comparison dependencies. See
// docs/performance.md for the figures and the command.
package bench
