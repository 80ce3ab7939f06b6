// Package profiling profiles the requests that ask for it and are
// authorized (by default: staff users), as django-security's
// ProfilingMiddleware does, with Go's own tools: a Server-Timing header,
// and an execution trace or a CPU profile of the request's window, kept
// in memory and downloadable from a staff page as files that go tool trace
// and go tool pprof open. Every other request passes through untouched,
// without an allocation. The guide is docs/profiling.md.
//
// # Asking
//
// A request asks with the query parameter profile or the header
// X-Bulwark-Profile (both configurable, either can be turned off), whose
// value says what to capture:
//
//	?profile  ?profile=1  ?profile=timing   Server-Timing only
//	?profile=trace                          and an execution trace
//	?profile=cpu                            and a CPU profile
//	?profile=trace,cpu                      and both
//	X-Bulwark-Profile: cpu                  the same, as a header
//
// A request that asks but is not authorized ([Config.Authorize]) is served
// normally, not profiled, and logged as profiling.refused.
//
// # What a profiled request gets
//
// Its response carries Server-Timing (total time, the spans the handler
// marked with [Span], and the process's allocation and GC figures, which
// are process-wide: Go keeps no per-goroutine count) and Cache-Control:
// no-store. A trace or CPU profile covers the request's window; both are
// process-wide by nature (they show every goroutine), so there is one
// capture at a time, bounded in time ([Config.MaxDuration]) and size
// ([Config.MaxCaptureBytes]); a request that finds the capture busy is
// told so in its Server-Timing. Captures are kept in a ring in memory
// ([Config.Keep], [Config.KeepBytes]), without the query string.
//
// # Mounting
//
// Put the middleware after the identity middleware (the default authorizer
// reads the identity user) and before the application, and mount the
// [Middleware.Profiles] page on a subtree, behind the login gate:
//
//	prof, err := profiling.New(profiling.Config{Logger: sec})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux.Handle("GET /debug/profiles/", prof.Profiles()) // staff only, checked again inside
//	handler := alice.New(ids.Handler, login.Handler, prof.Handler).Then(mux)
//
// Then, as a staff member:
//
//	curl -H 'X-Bulwark-Profile: cpu' -b session=… https://example.com/slow
//	# download 20261123T181600Z-0001.pprof from /debug/profiles/
//	go tool pprof -http=: 20261123T181600Z-0001.pprof
//
// Profiling is for staff: a trace or profile shows the code, the timings
// and the goroutines of the whole process, including other users'
// requests. Keep the default authorizer, or one at least as strict.
package profiling
