package connector_test

import (
	"os"
	"strings"
	"testing"
)

// docs/testing.md shows this package's code: each of its Go blocks is in
// connector_test.go or connector.go word for word, so that the worked
// example in the documentation is the one CI runs.
func TestDocsShowThisCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/testing.md")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, name := range []string{"connector_test.go", "connector.go"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	blocks := 0
	for _, part := range strings.Split(string(doc), "```go\n")[1:] {
		block, _, ok := strings.Cut(part, "```")
		if !ok {
			t.Fatal("docs/testing.md: a Go block is not closed")
		}
		blocks++
		if !strings.Contains(src.String(), block) {
			t.Errorf("docs/testing.md's Go block %d is not in this package's code:\n%s", blocks, block)
		}
	}
	if blocks < 2 {
		t.Errorf("docs/testing.md has %d Go blocks, want the example's", blocks)
	}
}
