package seclog

import "go.uber.org/zap/zapcore"

// The events of package ajaxonly.
var (
	// AjaxOnlyRefused is logged when a request to an AJAX-only handler is
	// refused because it is neither an XMLHttpRequest (X-Requested-With)
	// nor a script request by Fetch Metadata (Sec-Fetch-Mode cors or
	// same-origin with Sec-Fetch-Dest empty). Anyone can cause it, so it is
	// high-volume. The fields are the request's headers as sent, bounded.
	AjaxOnlyRefused = define(Event{
		Name: "ajaxonly.refused", Level: zapcore.WarnLevel, OWASP: AuthzFail,
		Meaning:    "a request that is not AJAX was refused by an AJAX-only handler (403)",
		Fields:     []string{"x_requested_with", "sec_fetch_mode", "sec_fetch_dest"},
		HighVolume: true,
	})
)
