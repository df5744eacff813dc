package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A package that builds on Linux only is refused for Windows and passes
// for Linux: the check sees what a build for the target would.
func TestPlatformThatStopsBuilding(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks part of the standard library")
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/linuxonly\n\ngo 1.26\n")
	write("main.go", "package main\n\nimport \"syscall\"\n\nvar attr = syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}\n\nfunc main() { _ = attr }\n")
	t.Chdir(dir)
	t.Setenv("CGO_ENABLED", "0")
	t.Setenv("GOFLAGS", "")

	t.Setenv("GOOS", "linux")
	t.Setenv("GOARCH", "arm64")
	if err := run([]string{"."}); err != nil {
		t.Errorf("linux/arm64: %v", err)
	}
	t.Setenv("GOOS", "windows")
	err := run([]string{"."})
	if err == nil || !strings.Contains(err.Error(), "windows/arm64") || !strings.Contains(err.Error(), "Pdeathsig") {
		t.Errorf("windows/arm64: %v, want an error naming the target and Pdeathsig", err)
	}
}
