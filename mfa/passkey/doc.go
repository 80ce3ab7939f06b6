// Package passkey adds passkeys (WebAuthn, on github.com/go-webauthn/webauthn)
// to the suite: registration for a logged-in user, the second factor of the
// mfa gate, and, optionally, a passwordless login.
//
// One [Passkeys], made once by [New], holds the relying party (RP ID,
// display name, the exact origins), the [Store] and the identity.Sessions
// login. What it adds to the library:
//
//   - Ceremonies bound to the session. A registration or passwordless
//     login keeps its challenge in the user's scs session ([SessionKey]),
//     bound to the user and the login time, single-use (taken at the
//     finish, whatever the outcome) and expiring after
//     [Config.ChallengeTTL], on [Config.Now]. The second factor keeps
//     nothing: its challenge is derived from the gate's one-time state.
//   - The checks said by name. Origin (exact, port included), challenge
//     and RP ID hash are checked before the library's own checks, so that
//     a refusal's passkey.refused event says which failed; every refusal
//     has a reason (see the event catalog).
//   - A counter policy. A signature counter that does not grow, when the
//     stored or the new value is not zero, refuses the login, flags the
//     passkey ([Credential.CloneWarning]: refused from then on; the user
//     deletes it and registers another) and logs passkey.clone_suspected
//     at Error. Synced passkeys, which report 0 forever, keep working. A
//     change of the backup-eligible flag is refused (by the library).
//   - An atomic write-back. [Store.Use] writes the counter, flags and last
//     use only if the stored counter is still the one read and the
//     challenge is not the last one accepted: two concurrent posts of one
//     assertion never both pass, even with a counter of 0.
//   - User verification: preferred at registration and for the second
//     factor (the password was the first factor; the passkey is the
//     second), required for the passwordless login (options "required",
//     and the assertion's UV flag is checked), which then logs the user
//     in with the methods "hwk" and "mfa" so the gate asks nothing more.
//   - Registration needs a recent proof: a login less than
//     [Config.RecentLogin] old (a site that also wants a recent second
//     factor puts the gate's step-up guard on the begin route).
//
// # Wiring
//
// A site mounts the script, the registration endpoints (behind the login
// and the mfa gate), optionally the passwordless login endpoints (public,
// like the login page), and gives the verifier to the gate:
//
//	pk, err := passkey.New(passkey.Config{
//		RPID: "example.com", RPDisplayName: "Example",
//		RPOrigins: []string{"https://example.com"},
//		Store:     store, // &passkey.MemoryStore{} or mfa/passkey/sqlstore
//		Identity:  sessions, Lookup: lookup, // Lookup: for the passwordless login
//	})
//	gate, err := mfa.New(mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{otp, pk.Verifier()}, …})
//	mux.HandleFunc("GET /static/passkey.js", passkey.ServeScript)
//	mux.HandleFunc("POST /account/passkeys/begin", pk.BeginRegistration)
//	mux.HandleFunc("POST /account/passkeys/finish", pk.FinishRegistration)
//	mux.HandleFunc("POST /login/passkey/begin", pk.BeginLogin)   // exempt from the gate
//	mux.HandleFunc("POST /login/passkey/finish", pk.FinishLogin) // exempt from the gate
//
// The pages load <script src="/static/passkey.js" defer></script> and
// mark their elements (no inline script: a strict CSP holds):
//
//	<input id="pk-name"> <button data-passkey-register data-begin="/account/passkeys/begin"
//	    data-finish="/account/passkeys/finish" data-name-input="#pk-name">Add a passkey</button>
//	<button data-passkey-login data-begin="/login/passkey/begin"
//	    data-finish="/login/passkey/finish?next=/account">Log in with a passkey</button>
//
// The challenge page of the gate writes mfa.Start.Options (from
// Middleware.Begin) into a form that posts to the gate's Complete, which
// hands the request to [Verifier.Complete]:
//
//	<form method="post" action="/mfa" data-passkey-mfa data-options="{{.Options}}">
//	  <input type="hidden" name="passkey_credential"><button>Use my passkey</button></form>
//
// The account page lists the user's passkeys with [Passkeys.List] and
// removes one with [Passkeys.Delete] from its own POST handler.
package passkey
