// Package csp sets Content-Security-Policy and
// Content-Security-Policy-Report-Only headers, with a fresh nonce per
// response, reporting, and per-route changes.
//
//	m, err := csp.New(csp.Config{Logger: sec}) // csp.Strict(): a nonce policy
//	if err != nil {
//		log.Fatal(err) // a policy mistake, named, with what to write
//	}
//	handler := m.Handler(mux)
//
// and in templates parsed with [TemplateFuncs]:
//
//	<script nonce="{{cspNonce .Request}}">…</script>
//
// Policies are typed values ([Policy], [Directive], [Source]) or strings
// ([Raw]), checked once by [New]: a bare keyword ("self" for "'self'"), a
// scheme without its colon ("data" for "data:"), a ";", ",", CR, LF or
// non-ASCII byte in any value, a repeated directive, 'none' beside other
// sources, more than one report-to endpoint or an unknown directive is an
// error that names the Config field and the directive and says what to
// write instead. Weak but valid policies are
// served and logged once at startup (csp.policy_weak,
// csp.directive_deprecated).
//
// Every header value is computed by New, for each case a request can be in
// (HTTPS or not, sampled for reporting or not, with or without nonce): a
// static policy costs an assignment into the header map and no allocation;
// a nonce policy costs one random read and one string built in one
// allocation, plus the request copy that carries the nonce in its context
// ([Nonce], [TemplateFuncs]).
//
// A response whose header carries a nonce gets Cache-Control: no-store
// unless the handler sets its own, so a cache never serves one nonce twice.
// A CSP header that the handler sets itself is kept, unless Config.Force.
//
// Per-route changes ([Apply], [Override], [Append], [Exempt], and named
// presets with [Use] or [Middleware.With]) go through the request's
// context: no second middleware, no second policy to keep in step.
package csp
