package main

import (
	"path/filepath"
	"strings"
)

// selfCommand is how to run this program again, as the command lines it
// prints for the user to copy say it: "go run ./cmd/openatp" when go run
// built it (its binary is in a temporary folder that go run removes on
// exit; the line works from the repository's root, where the README runs
// it), the path it was started by when that was a path ("./openatp",
// "/usr/local/bin/openatp"), else "openatp" (found on the PATH).
func selfCommand(argv0 string) string {
	slashed := filepath.ToSlash(argv0)
	switch {
	case argv0 == "":
		return "openatp"
	case strings.Contains(slashed, "/go-build") && strings.Contains(slashed, "/exe/"):
		return "go run ./cmd/openatp"
	case strings.Contains(slashed, "/"):
		if strings.ContainsAny(argv0, " '\"$`\\") {
			return "'" + strings.ReplaceAll(argv0, "'", `'\''`) + "'"
		}
		return argv0
	}
	return "openatp"
}
