package seclog

import "go.uber.org/zap/zapcore"

// The events of the chain's CrossOrigin slot (package bulwark, which runs
// net/http's CrossOriginProtection).
var (
	// CSRFRefused is logged when the chain's CrossOrigin slot refuses an
	// unsafe request (POST, PUT, PATCH, DELETE …) that a browser sent from
	// another origin: reason "sec_fetch_site" when its Sec-Fetch-Site header
	// says cross-site or same-site, "origin" when an older browser sent no
	// Sec-Fetch-Site and its Origin is not the request's host. The request
	// is answered 403 before any session is read. Any page on the web can
	// make a visitor's browser send one, so it is high-volume. The other
	// fields are the request's headers as sent, bounded.
	CSRFRefused = define(Event{
		Name: "csrf.refused", Level: zapcore.WarnLevel, OWASP: MaliciousCORS,
		Meaning:    "an unsafe cross-origin browser request (CSRF) was refused before any session was read (403)",
		Fields:     []string{"reason", "sec_fetch_site", "origin", "host"},
		HighVolume: true,
	})
)
