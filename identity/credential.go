package identity

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// A CredentialStamper is a [User] whose sessions end when its credentials
// change, as Django's get_session_auth_hash makes them end: [Sessions]
// records the stamp at Login and compares it, through Lookup, on every
// request; a session whose stamp is no longer the user's is logged out, on
// whichever instance it arrives, because the comparison reads the user
// from the application's store.
//
// Implement it on the application's user type. The stamp must change
// whenever a session made before should end: derive it from the password
// hash (a password change or an administrator's reset then ends every
// session) and from a per-user counter the application increments to log
// the user out everywhere (see [SessionsConfig.Revoke]). Sessions keep
// only a SHA-256 digest of it, never the value.
type CredentialStamper interface {
	// CredentialStamp returns the user's current stamp: any string that
	// changes when the user's sessions should end.
	CredentialStamp() string
}

// credentialDigest returns what the session keeps of u's credential
// stamp: "" for a user that is not a [CredentialStamper], else a
// domain-separated SHA-256 digest (never empty, even for an empty stamp).
func credentialDigest(u User) string {
	c, ok := u.(CredentialStamper)
	if !ok {
		return ""
	}
	sum := sha256.Sum256([]byte("bulwark.credential\x00" + c.CredentialStamp()))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sameCredential reports whether the digest kept in a session is u's
// current one. A session without a digest matches only a user that is not
// a CredentialStamper: a session made before the application stamped its
// users is logged out once, as Django does.
func sameCredential(kept string, u User) bool {
	return subtle.ConstantTimeCompare([]byte(kept), []byte(credentialDigest(u))) == 1
}
