package mfa_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/pathconfusion"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/mfa"
)

// TestPathConfusion runs the shared path-confusion corpus end to end, over
// TCP, through the gate and a real ServeMux, as a user who has not passed
// the second factor (a bearer-like user: the session LoadAndSave loads is
// not theirs): the corpus's public routes are the gate's exempt routes,
// and its "login" challenge is the redirect to the challenge page. No path
// trick gets the user past the gate.
func TestPathConfusion(t *testing.T) {
	dir := testenv.Testdata(t, "path-confusion")
	log, events := seclogtest.New(t)
	const challenge = "/mfa"
	sm := scs.New()
	gate, err := mfa.New(mfa.Config{
		Sessions: sm, Verifiers: []mfa.Verifier{&fakeVerifier{}}, ChallengeURL: challenge, LoginURL: "/login",
		Exempt: []string{"/{$}", "/static/", "GET /health"}, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	app := pathconfusion.NewApp()
	asAlice := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), identity.Basic{UserID: "alice", IsActive: true})))
		})
	}
	pathconfusion.Run(t, filepath.Join(dir, "cases.tsv"), challenge, pathconfusion.Serve(t, sm.LoadAndSave(asAlice(gate.Handler(app))), app, events.Names))
}
