package seclog

import "go.uber.org/zap/zapcore"

// The events of package clearsite.
var (
	// ClearSiteDirective is logged once, when a clearsite middleware is
	// built, for each configured directive that costs more than it seems
	// ("cache" and "*" stall Chromium for seconds) or that browsers ignore
	// ("executionContexts").
	ClearSiteDirective = define(Event{
		Name: "clearsite.directive_warning", Level: zapcore.WarnLevel, OWASP: SysStartup,
		Meaning: "a configured Clear-Site-Data directive is costly or ignored by browsers",
		Fields:  []string{"directive", "reason"},
	})
	// ClearSiteSent is logged when a response is given a Clear-Site-Data
	// header, on a listed path or because the handler asked for it (at
	// logout or session expiry): the browser is told to delete the site's
	// cookies and storage. Anyone can request a listed path, so it is
	// high-volume.
	ClearSiteSent = define(Event{
		Name: "clearsite.sent", Level: zapcore.InfoLevel, OWASP: AuthnTokenDelete,
		Meaning:    "a response told the browser to clear the site's data (Clear-Site-Data)",
		Fields:     []string{"trigger", "directives"},
		HighVolume: true,
	})
	// ClearSiteNotSent is logged when Clear-Site-Data was due but could not
	// be sent: the request did not come over HTTPS (browsers ignore the
	// header on insecure origins; behind a proxy, check seclog's
	// TrustedProxies), or the handler asked after the headers were written.
	// The browser keeps the site's data. A client can cause the first at
	// will with plain-HTTP requests, so it is high-volume.
	ClearSiteNotSent = define(Event{
		Name: "clearsite.not_sent", Level: zapcore.WarnLevel, OWASP: AuthnTokenDelete,
		Meaning:    "Clear-Site-Data was due but not sent (plain HTTP, or asked for after the headers were written)",
		Fields:     []string{"trigger", "reason"},
		HighVolume: true,
	})
)
