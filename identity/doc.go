// Package identity is what the gates of the bulwark suite (loginrequired,
// passwordexpiry, sessionexpiry, mfa) share about who is asking and how to
// refuse them:
//
//   - [User], the small contract the gates read (id, name, active, staff,
//     superuser), carried in the request's context ([NewContext],
//     [FromContext]); an inactive user is anonymous;
//   - [Responder], the one way every gate answers a request it refuses,
//     chosen by the kind of client: a navigation is redirected, a script
//     gets 401 or 403 JSON, htmx gets HX-Redirect;
//   - [SafeNext], the one check of a redirect target, and [Redirect],
//     the one writer: the target goes out exactly as judged;
//   - [Middleware], which finds the user with [Authenticator]s tried in
//     order, as DRF does: [Sessions] (on scs: Login renews the session
//     token, Logout destroys the session), [Bearer] (with DRF's "Token"
//     keyword too) and [BasicAuth]. A credential that is tried and refused
//     is never anonymous: it is a 401 with the first authenticator's
//     challenge ([FirstChallenge]), or a 403 when none has one; a store
//     error is a 503 unless FailOpen. What authenticated the request
//     ([Authenticator.Scheme]: "session", "bearer", "token", "basic") is
//     read with [SchemeFromContext].
package identity
