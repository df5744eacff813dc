package openatp_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The import graph points one way: the domain at the bottom, one package
// per outside dependency beside it, the read model and the wire schema
// above the domain, the API above them, the command on top. Each rule
// lists what a package must not import (module-relative for openatp's own
// packages); a new arrow pointing back up fails here.
func TestImportGraph(t *testing.T) {
	const mod = "github.com/openatp/openatp"
	drivers := []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/redis/go-redis", "database/sql"}
	own := func(ps ...string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, mod+p)
		}
		return out
	}
	up := own("/httpserve", "/mdeapi", "/adminapi", "/auth", "/cmd", "/readmodel", "/ingest", "/sqlite", "/postgres", "/redis", "/internal/manage", "/fault", "/journal")
	rules := map[string][]string{
		"":           append([]string{"net/http", mod + "/"}, drivers...),
		"/wire":      append(append([]string{"net/http"}, drivers...), up...), // and odata
		"/odata":     append(append([]string{"net/http", mod}, drivers...), up...),
		"/readmodel": append(append([]string{"net/http"}, drivers...), own("/httpserve", "/mdeapi", "/adminapi", "/auth", "/cmd", "/ingest", "/sqlite", "/postgres", "/redis", "/internal/manage")...),
		"/ingest":    append(append([]string{"net/http"}, drivers...), own("/httpserve", "/mdeapi", "/adminapi", "/auth", "/cmd", "/readmodel", "/sqlite", "/postgres", "/redis")...),
		// The HTTP plumbing knows no route; the MDE routes and the admin API
		// know each other not; the command composes them.
		"/httpserve":          append(drivers, own("/cmd", "/sqlite", "/postgres", "/redis", "/auth", "/readmodel", "/ingest", "/internal/manage", "/mdeapi", "/adminapi")...),
		"/mdeapi":             append(drivers, own("/cmd", "/sqlite", "/postgres", "/redis", "/auth", "/ingest", "/internal/manage", "/adminapi")...),
		"/adminapi":           append(drivers, own("/cmd", "/sqlite", "/postgres", "/redis", "/auth", "/readmodel", "/mdeapi")...),
		"/auth":               append(drivers, own("/httpserve", "/mdeapi", "/adminapi", "/cmd", "/readmodel", "/ingest", "/sqlite", "/postgres", "/redis")...),
		"/sqlite":             append([]string{"net/http", "github.com/jackc/pgx", "github.com/redis/go-redis"}, own("/httpserve", "/mdeapi", "/adminapi", "/auth", "/cmd", "/readmodel", "/ingest", "/wire", "/postgres", "/redis")...),
		"/postgres":           append([]string{"net/http", "modernc.org/sqlite", "database/sql", "github.com/redis/go-redis"}, own("/httpserve", "/mdeapi", "/adminapi", "/auth", "/cmd", "/readmodel", "/ingest", "/wire", "/sqlite", "/redis")...),
		"/redis":              append([]string{"net/http", mod}, drivers[:2]...),
		"/internal/storeutil": append([]string{"net/http"}, append(drivers, up...)...),
		// The test double's decisions and records: no HTTP, no store.
		"/fault":          append(append([]string{"net/http", "github.com/prometheus"}, drivers...), up...),
		"/journal":        append(append([]string{"net/http", mod, "github.com/prometheus"}, drivers...), up...),
		"/internal/route": append(append([]string{"net/http", mod}, drivers...), up...),
		// Reference counts: the standard library only.
		"/internal/refcount": append(append([]string{"net/http", mod}, drivers...), up...),
		// The access log's line: formatting only.
		"/internal/accesslog": append(append([]string{"net/http", mod + "/", "log/slog"}, drivers...), up...),
		// The worked example of docs/testing.md is a client as its users
		// write it: it knows openatp only over HTTP.
		"/examples/connector": append([]string{mod}, own("/httpserve", "/mdeapi", "/adminapi", "/auth", "/cmd", "/readmodel", "/ingest", "/sqlite", "/postgres",
			"/redis", "/internal", "/fault", "/journal", "/wire", "/odata", "/ratelimit", "/storetest")...),
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		bad, ok := rules[strings.TrimPrefix(pkg, mod)]
		if !ok {
			continue
		}
		seen++
		for _, imp := range imports {
			for _, b := range bad {
				if b == mod && imp == mod {
					t.Errorf("%s imports %s", pkg, imp)
				} else if b != mod && b != mod+"/" && (imp == b || strings.HasPrefix(imp, b+"/")) {
					t.Errorf("%s imports %s", pkg, imp)
				} else if b == mod+"/" && strings.HasPrefix(imp, b) {
					t.Errorf("%s (the domain) imports %s", pkg, imp)
				}
			}
		}
	}
	if seen != len(rules) {
		t.Errorf("checked %d packages, want %d: a package of the rules is gone or renamed", seen, len(rules))
	}
}
