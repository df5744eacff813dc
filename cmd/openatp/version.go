package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/openatp/openatp"
)

// version is the version of a release build, set by its linker flags
// (release/build.sh): go build -ldflags "-X main.version=0.2.0". Empty in
// other builds, which report the module's version (go install …@v0.2.0)
// or openatp.Version.
var version string

// commit is the git revision of a release build, set by its linker flags
// (-X main.commit=…) for builds the Go toolchain does not stamp (a git
// worktree, a source archive). The toolchain's vcs.revision wins.
var commit string

// buildInfo is what `openatp version` reports.
type buildInfo struct {
	Version   string
	Commit    string // the git revision built, "" if unknown
	Time      string // the commit's time (RFC 3339), "" if unknown
	Modified  bool   // the checkout had uncommitted changes
	GoVersion string
	Platform  string // GOOS/GOARCH
}

// readBuildInfo returns the version and the version control facts the Go
// toolchain stamped into the binary (go build in a git checkout; not go
// run or go test).
func readBuildInfo() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return newBuildInfo(bi, version, commit)
}

// newBuildInfo reads bi (nil: nothing known); ldVersion, when set, is the
// version, ldCommit the commit when bi names none.
func newBuildInfo(bi *debug.BuildInfo, ldVersion, ldCommit string) buildInfo {
	b := buildInfo{Version: openatp.Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			b.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
	}
	if ldVersion != "" {
		b.Version = ldVersion
	}
	if b.Commit == "" {
		b.Commit = ldCommit
	}
	return b
}

// short is the version and the commit on one line, as serve prints it:
// "0.1.0 (commit 0123456789ab, modified)".
func (b buildInfo) short() string {
	if b.Commit == "" {
		return b.Version
	}
	c := b.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if b.Modified {
		return fmt.Sprintf("%s (commit %s, modified)", b.Version, c)
	}
	return fmt.Sprintf("%s (commit %s)", b.Version, c)
}

// long is what `openatp version` prints.
func (b buildInfo) long() string {
	commit := "unknown (not built from a git checkout by go build)"
	if b.Commit != "" {
		commit = b.Commit
		if b.Time != "" {
			commit += " (" + b.Time + ")"
		}
		if b.Modified {
			commit += ", with uncommitted changes"
		}
	}
	return fmt.Sprintf("openatp %s\ncommit  %s\ngo      %s %s\n", b.Version, commit, b.GoVersion, b.Platform)
}

func versionString() string { return readBuildInfo().short() }
