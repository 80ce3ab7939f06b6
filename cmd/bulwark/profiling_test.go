package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestDemoProfiling: admin (staff) asks for a trace of a page and gets a
// Server-Timing header, shown in the page's box, and a capture listed and
// downloadable on the staff Profiles page; alice asks the same and is
// served as usual, without profiling or the Profiles page.
func TestDemoProfiling(t *testing.T) {
	base, stderr := startDemo(t)

	admin := newClient(t, base)
	admin.login("admin", "admin-password", "")
	resp, body := admin.do("GET", "/admin/?profile=trace", nil, nil)
	timing := resp.Header.Get("Server-Timing")
	m := regexp.MustCompile(`capture;desc="trace ([^"]+)"`).FindStringSubmatch(timing)
	if resp.StatusCode != 200 || !strings.Contains(timing, "total;dur=") || m == nil {
		t.Fatalf("admin /admin/?profile=trace: %d, Server-Timing %q: want the timing and a trace", resp.StatusCode, timing)
	}
	if !strings.Contains(body, "<code>Server-Timing</code>") {
		t.Error("the page's box does not show its Server-Timing header")
	}
	id := m[1]
	resp, body = admin.do("GET", "/admin/profiles/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, id) {
		t.Errorf("admin /admin/profiles/: %d, want a list with %s", resp.StatusCode, id)
	}
	resp, body = admin.do("GET", "/admin/profiles/"+id+".trace", nil, nil)
	if resp.StatusCode != 200 || len(body) == 0 || !strings.Contains(resp.Header.Get("Content-Disposition"), id) {
		t.Errorf("download %s.trace: %d, %d bytes, %q", id, resp.StatusCode, len(body), resp.Header.Get("Content-Disposition"))
	}

	alice := newClient(t, base)
	alice.login("alice", "alice-password", "")
	resp, _ = alice.do("GET", "/account?profile=trace", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Server-Timing") != "" {
		t.Errorf("alice /account?profile=trace: %d, Server-Timing %q: want the page, unprofiled", resp.StatusCode, resp.Header.Get("Server-Timing"))
	}
	if resp, _ := alice.do("GET", "/admin/profiles/", nil, nil); resp.StatusCode != 403 {
		t.Errorf("alice /admin/profiles/: %d, want 403", resp.StatusCode)
	}
	for _, event := range []string{"profiling.captured", "profiling.downloaded", "profiling.refused"} {
		if !strings.Contains(stderr.String(), `"event":"`+event+`"`) {
			t.Errorf("no %s event", event)
		}
	}
}
