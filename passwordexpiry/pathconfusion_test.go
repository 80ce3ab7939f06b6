package passwordexpiry_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/pathconfusion"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/passwordexpiry"
)

// TestPathConfusion runs the shared path-confusion corpus end to end, over
// TCP, through the gate and a real ServeMux, as a user who must change
// their password: the corpus's public routes are the gate's exempt routes,
// and its "login" challenge is the redirect to the change page. No path
// trick gets a forced user past the gate.
func TestPathConfusion(t *testing.T) {
	dir := testenv.Testdata(t, "path-confusion")
	log, events := newLogger(t)
	store := passwordexpiry.NewMemoryStore()
	if err := store.Require(context.Background(), "alice", passwordexpiry.Compromised, time.Now()); err != nil {
		t.Fatal(err)
	}
	const change = "/password/change"
	gate, err := passwordexpiry.New(passwordexpiry.Config{
		Store: store, ChangeURL: change, LoginURL: "/login",
		Exempt: []string{"/{$}", "/static/", "GET /health"}, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	app := pathconfusion.NewApp()
	asAlice := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, asUser(r, identity.Basic{UserID: "alice", IsActive: true}))
		})
	}
	pathconfusion.Run(t, filepath.Join(dir, "cases.tsv"), change, pathconfusion.Serve(t, asAlice(gate.Handler(app)), app, events.names))
}
