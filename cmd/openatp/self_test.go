package main

import "testing"

// The lines serve prints name the program as it was started, so that they
// work as printed (issue: the README's go run left no openatp on the PATH).
func TestSelfCommand(t *testing.T) {
	for _, tc := range []struct{ argv0, want string }{
		{"/tmp/go-build1234567/b001/exe/openatp", "go run ./cmd/openatp"},
		{"./openatp", "./openatp"},
		{"/usr/local/bin/openatp", "/usr/local/bin/openatp"},
		{"bin/openatp", "bin/openatp"},
		{"openatp", "openatp"},
		{"", "openatp"},
		{"/home/me/my tools/openatp", `'/home/me/my tools/openatp'`},
	} {
		if got := selfCommand(tc.argv0); got != tc.want {
			t.Errorf("selfCommand(%q) = %q, want %q", tc.argv0, got, tc.want)
		}
	}
}
