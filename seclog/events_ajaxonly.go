package seclog

import "go.uber.org/zap/zapcore"

// The events of package ajaxonly.
var (
	// AjaxOnlyRefused is logged when a request to an AJAX-only handler is
	// refused: reason "not_ajax" when it is neither an XMLHttpRequest
	// (X-Requested-With) nor a script request by Fetch Metadata
	// (Sec-Fetch-Mode cors or same-origin with Sec-Fetch-Dest empty);
	// "cross_origin" when it is a script's request from another origin
	// (Sec-Fetch-Site not same-origin, or an Origin not the request's own)
	// that Config.AllowOrigins does not list. Anyone can cause it, so it is
	// high-volume. The other fields are the request's headers as sent,
	// bounded.
	AjaxOnlyRefused = define(Event{
		Name: "ajaxonly.refused", Level: zapcore.WarnLevel, OWASP: AuthzFail,
		Meaning:    "a request that is not AJAX, or AJAX from another origin not allowed, was refused by an AJAX-only handler (403)",
		Fields:     []string{"reason", "x_requested_with", "sec_fetch_mode", "sec_fetch_dest", "sec_fetch_site", "origin"},
		HighVolume: true,
	})
)
