package seclog

import "go.uber.org/zap/zapcore"

// The events of package profiling.
var (
	// ProfilingRefused is logged when a request asks to be profiled (the
	// trigger query parameter or header) but the authorizer refuses it:
	// the request is served normally, without profiling. Anyone can send
	// the trigger, so it is high-volume. The fields are how it asked
	// ("query" or "header") and what it asked for, as sent (bounded).
	ProfilingRefused = define(Event{
		Name: "profiling.refused", Level: zapcore.WarnLevel, OWASP: AuthzFail,
		Meaning:    "a request asked to be profiled but is not authorized; it was served normally, not profiled",
		Fields:     []string{"trigger", "capture"},
		HighVolume: true,
	})
	// ProfilingCaptured is logged when an execution trace or a CPU profile
	// of an authorized request is kept in the ring of captures: who took
	// it and on which path are the common fields. A capture holds stack
	// traces and timings of the whole process, so it is sensitive data.
	ProfilingCaptured = define(Event{
		Name: "profiling.captured", Level: zapcore.InfoLevel, OWASP: SensitiveCreate,
		Meaning: "an execution trace or CPU profile of a request was captured and kept for download",
		Fields:  []string{"capture_id", "kind", "bytes", "duration_ms"},
	})
	// ProfilingSkipped is logged when an authorized request asked for a
	// capture that was not taken or not kept: another capture was running
	// (one at a time per process), the profiler was in use elsewhere in
	// the program, or the capture exceeded its byte bound. The request was
	// served and timed all the same.
	ProfilingSkipped = define(Event{
		Name: "profiling.skipped", Level: zapcore.WarnLevel, OWASP: ExcessRateLimitExceeded,
		Meaning: "a capture asked for by an authorized request was not taken or not kept (busy, profiler in use, too large)",
		Fields:  []string{"kind", "reason"},
	})
	// ProfilingDownloaded is logged when a capture is downloaded from the
	// profiles page.
	ProfilingDownloaded = define(Event{
		Name: "profiling.downloaded", Level: zapcore.InfoLevel, OWASP: SensitiveRead,
		Meaning: "a captured execution trace or CPU profile was downloaded from the profiles page",
		Fields:  []string{"capture_id", "kind", "bytes"},
	})
	// ProfilingPageRefused is logged when a request for the profiles page
	// or one of its downloads is refused (403) because the authorizer does
	// not allow it. Anyone who finds the page can cause it, so it is
	// high-volume.
	ProfilingPageRefused = define(Event{
		Name: "profiling.page_refused", Level: zapcore.WarnLevel, OWASP: AuthzFail,
		Meaning:    "a request for the profiles page or a capture download was not authorized (403)",
		HighVolume: true,
	})
)
