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
//   - [SafeNext], the one check of a redirect target.
//
// The scs-backed login and logout and the pluggable authenticators come
// with the Gates issue.
package identity
