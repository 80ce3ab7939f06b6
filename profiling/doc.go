// Package profiling profiles the requests that ask for it and are
// authorized (by default: staff users), as django-security's
// ProfilingMiddleware does, with Go's own tools: a Server-Timing header,
// the process's allocation and GC figures, and an execution trace or a CPU
// profile of the request's window, kept in memory and downloadable from a
// staff page as files that go tool trace and go tool pprof open.
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
// "0", "false", "off" and "no" do not ask. A request that does not ask
// costs a header lookup and, when its URL has a query, a scan of the raw
// query (the query is parsed only when it plausibly holds the parameter):
// no allocation, no wrapped ResponseWriter, no context value. A request
// that asks but is not authorized ([Config.Authorize]; by default
// identity.FromRequest(r).Staff()) is served normally, not profiled, and
// logged as a profiling.refused event (high-volume, sampled).
//
// # What a profiled request gets
//
// Its response carries, written just before the header is sent,
//
//	Server-Timing: total;dur=12.345, db;dur=3.100;desc="2 spans",
//	  alloc;desc="process-wide: 1.2 MiB in 3400 objects",
//	  gc;desc="process-wide: 0 GC cycles", capture;desc="trace 20261123T181600Z-0001"
//
// and Cache-Control: no-store. total is the time from the middleware to
// the header (a body written after it is not in it); the named spans are
// those the handler marked with [Span] and ended before the header;
// browsers show them in their developer tools (Network, Timing).
//
// alloc and gc are NOT the request's own: they are the differences of the
// runtime/metrics counters /gc/heap/allocs:bytes, /gc/heap/allocs:objects
// and /gc/cycles/total:gc-cycles between the request's start and its
// header, over the whole process: every goroutine serving other requests
// adds to them (a running CPU profiler's own goroutine too). Go keeps no
// per-goroutine allocation count; on an idle server they come close to the
// request's, on a busy one they are an upper bound, and the desc says
// process-wide so no one reads them otherwise. The figures, total
// included, start once a capture's profilers have started.
//
// # Captures
//
// With trace or cpu, the middleware also captures:
//
//   - trace: an execution trace of the request's window, with the
//     runtime/trace flight recorder (trace.FlightRecorder), started just
//     before the handler and snapshotted when it returns. The request is
//     the task "bulwark.request" and each span a task under it, in go tool
//     trace's user-defined tasks view.
//   - cpu: a CPU profile of the same window, with runtime/pprof (100
//     samples a second, so a 50 ms request has about 5: ask again or use a
//     trace for short requests). Samples of the request's goroutine, and of
//     goroutines it starts, carry the label bulwark=request ([LabelKey],
//     [LabelValue]): go tool pprof -tagfocus=bulwark=request keeps them.
//
// Both are process-wide by nature: the trace shows every goroutine, the
// profile samples every goroutine. There is one capture at a time in the
// process (the CPU profiler and the flight recorder are process-wide): a
// second profiled request while one runs is served with its Server-Timing
// header, which says "not taken: another capture is running", and a
// profiling.skipped event; so is a request when another part of the
// program holds the CPU profiler (net/http/pprof) or a flight recorder.
// Each capture is bounded in time ([Config.MaxDuration], default 10 s: a
// longer request keeps its first 10 s) and in size
// ([Config.MaxCaptureBytes], default 16 MiB: a larger one is discarded,
// since a cut file cannot be opened), and ends as well when the request's
// context does (the client went away). The profilers are stopped by
// deferred calls: a panicking handler leaves nothing running.
//
// The captures are kept in a ring in memory, bounded in count
// ([Config.Keep], default 8) and total size ([Config.KeepBytes], default
// 64 MiB), the oldest dropped first, lost on restart; each kept capture is
// a profiling.captured event (who, which path, kind, size). The query
// string is never kept: it may hold secrets.
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
// The page lists the captures (who, what, when, size, the request's final
// Server-Timing figures) and serves each as an attachment named
// ID.trace or ID.pprof (Cache-Control: no-store). It has no script and no
// style, and adds Content-Security-Policy: default-src 'none' ([PageCSP]).
// It checks [Config.Authorize] itself and answers 403 to anyone else, with
// a profiling.page_refused event; each download is a profiling.downloaded
// event. Then, as a staff member:
//
//	curl -H 'X-Bulwark-Profile: cpu' -b session=… https://example.com/slow
//	# download 20261123T181600Z-0001.pprof from /debug/profiles/
//	go tool pprof -http=: 20261123T181600Z-0001.pprof
//	go tool trace 20261123T181601Z-0002.trace
//
// Profiling is for staff: a trace or profile shows the code, the timings
// and the goroutines of the whole process, including other users'
// requests. Keep the default authorizer, or one at least as strict.
package profiling
