package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/openatp/openatp"
)

func TestBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/openatp/openatp", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-07T16:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	plat := runtime.GOOS + "/" + runtime.GOARCH
	for _, tt := range []struct {
		name         string
		bi           *debug.BuildInfo
		ld, ldCommit string
		short, long  string
	}{
		{"go build in a checkout", stamped, "", "",
			openatp.Version + " (commit 0123456789ab, modified)",
			"openatp " + openatp.Version + "\ncommit  0123456789abcdef0123456789abcdef01234567 (2026-12-07T16:00:00Z), with uncommitted changes\ngo      go1.99.1 " + plat + "\n"},
		{"a release: the linker's version; the toolchain's commit wins", stamped, "1.2.3", "fedcba",
			"1.2.3 (commit 0123456789ab, modified)",
			"openatp 1.2.3\ncommit  0123456789abcdef0123456789abcdef01234567 (2026-12-07T16:00:00Z), with uncommitted changes\ngo      go1.99.1 " + plat + "\n"},
		{"a release from a worktree: the linker's commit", &debug.BuildInfo{GoVersion: "go1.99.1"}, "1.2.3", "fedcba9876543210",
			"1.2.3 (commit fedcba987654)",
			"openatp 1.2.3\ncommit  fedcba9876543210\ngo      go1.99.1 " + plat + "\n"},
		{"go install …@v0.2.0", &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v0.2.0"}}, "", "",
			"v0.2.0",
			"openatp v0.2.0\ncommit  unknown (not built from a git checkout by go build)\ngo      go1.99.1 " + plat + "\n"},
		{"no build information", nil, "", "", openatp.Version, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuildInfo(tt.bi, tt.ld, tt.ldCommit)
			if got := b.short(); got != tt.short {
				t.Errorf("short %q, want %q", got, tt.short)
			}
			if got := b.long(); tt.long != "" && got != tt.long {
				t.Errorf("long\n%s\nwant\n%s", got, tt.long)
			}
		})
	}
}

// A binary built as the release script builds it reports the version its
// linker flags set and the commit it was built from.
func TestVersionOfABuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "openatp")
	// The flags of release/build.sh that make the version: -buildvcs=auto
	// (GOFLAGS may turn stamping off), and the commit for when the
	// toolchain stamps none. Not -trimpath, which would compile every
	// package again rather than take the build cache's.
	build := exec.Command("go", "build", "-buildvcs=auto", "-ldflags",
		"-X main.version=9.9.9-test -X main.commit="+strings.TrimSpace(string(head)), "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("openatp version: %v", err)
	}
	if !strings.HasPrefix(string(out), "openatp 9.9.9-test\ncommit  ") {
		t.Errorf("openatp version:\n%s", out)
	}
	if want := "commit  " + strings.TrimSpace(string(head)); !strings.Contains(string(out), want) {
		t.Errorf("openatp version:\n%s\nwant %q", out, want)
	}
}
