package main

import (
	"strings"
	"testing"
)

// An unknown tenant is named once, with where to find the tenants.
func TestUnknownTenantNamedOnce(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	for _, args := range [][]string{
		{"token", "--data", data, "--tenant", "nosuch", "--app", "x"},
		{"export", "--data", data, "--tenant", "nosuch"},
	} {
		_, err := cli(t, args...)
		if err == nil {
			t.Fatalf("%v: no error", args)
		}
		if n := strings.Count(err.Error(), "nosuch"); n != 1 || !strings.Contains(err.Error(), `tenant "nosuch" not found`) ||
			!strings.Contains(err.Error(), "openatp tenant list") {
			t.Errorf("%v: %q names the tenant %d times, want once, and how to list them", args, err, n)
		}
	}
}
