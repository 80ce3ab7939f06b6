// Package identity is what the gates of the bulwark suite (loginrequired,
// passwordexpiry, sessionexpiry, mfa) share about who is asking: the check
// of redirect targets ([SafeNext]) that every login flow and gate uses.
//
// The user contract, the scs-backed implementation, the authenticators and
// the shared responder are planned (the Gates issue) and not here yet.
package identity
