package openatp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// importRules is the import graph openatp allows, layer by layer, from the
// bottom up: what every package of the module may import, and nothing
// else.
//
// An entry starts at the beginning of a line with a name and a colon, and
// goes on over the indented lines below it:
//
//   - A name in capitals is a group: a set of standard library packages
//     and earlier groups (a group named in a group brings in all of its
//     members). The groups are the standard library in layers, from what
//     only computes (CORE) to the network (NET, HTTP).
//   - openatp and openatp/... are the module's packages, each named with
//     what it may import directly: groups, standard library packages,
//     third-party modules (by module path: the module's packages with it),
//     and the module's packages. Importing a package does not allow
//     importing what that package may import: each entry says it all.
//   - An entry names only what earlier entries defined, so the order is
//     the layering: a package imports only packages whose entries come
//     before its own, from a layer below it.
//
// TestImportGraph fails on an import an entry does not allow, on a
// package of the module with no entry, and on an entry naming a package
// or module that does not exist.
//
// Tests (the _test.go files) may import what their package may, any
// package of the module, and the TESTS group.
const importRules = `
# The standard library, in layers.

# Computing only: no file, no process, no network, no log, no reflection.
CORE: bufio bytes cmp context errors fmt hash hash/maphash io iter maps
	math math/big math/bits math/rand/v2 mime net/netip net/url path regexp
	slices sort strconv strings sync sync/atomic time unicode unicode/utf16
	unicode/utf8
	encoding/base64 encoding/binary encoding/csv encoding/hex encoding/json
	encoding/pem
	crypto/rand crypto/sha1 crypto/sha256 crypto/subtle

# Keys, signatures and certificates.
CRYPTO: CORE crypto crypto/ecdsa crypto/elliptic crypto/hmac crypto/rsa
	crypto/x509 crypto/x509/pkix

# The process and its machine: files, signals, logs, the runtime.
SYSTEM: CORE embed flag io/fs log log/slog os os/signal os/user path/filepath
	reflect runtime runtime/debug runtime/pprof syscall

NET: CRYPTO SYSTEM net crypto/tls
HTTP: NET net/http
SQL: database/sql database/sql/driver

# What the packages that serve tests (and the tests) use.
TESTING: SYSTEM testing os/exec

# The packages of the module, from the bottom up.

# The syntax, kinds and normal forms of observed values (hashes,
# addresses, domains, URLs): a leaf below the domain, which names them.
openatp/observable: CORE

# The domain: entities, rules, error kinds, the Store interface. It
# computes only: no log, no file, no HTTP, no SQL.
openatp: CORE openatp/observable

# Vulnerability management's domain (TVM): the catalog, the inventory,
# the derived values and its Store interface, over the root.
openatp/vuln: CORE openatp

# Leaves that need nothing of openatp's.
openatp/odata: CORE
openatp/kql/syntax: CORE
openatp/kql/values: CORE openatp/kql/syntax
openatp/kql: CORE openatp/kql/syntax openatp/kql/values
openatp/internal/refcount: CORE
openatp/internal/password: CORE golang.org/x/crypto
openatp/internal/lifetime: CORE
openatp/internal/route: CORE
openatp/internal/accesslog: CORE
openatp/internal/jsonlex: CORE
openatp/internal/logbuf: CORE openatp/internal/lifetime
openatp/ratelimit: CORE net

# Over the domain: the wire schema, import formats, the test double's
# records, what the SQL stores share, the demo data.
openatp/wire: CORE openatp openatp/odata
# A value's events summed up per machine (issue 24).
openatp/sightings: CORE openatp
openatp/ingest: CORE path/filepath openatp openatp/wire openatp/internal/lifetime
	openatp/internal/jsonlex
openatp/ingest/vulnimport: CORE openatp openatp/ingest openatp/internal/jsonlex
	openatp/vuln
openatp/cmd/openatp/internal/vulncli: SYSTEM openatp openatp/ingest openatp/ingest/vulnimport
	openatp/vuln
openatp/fault: CORE openatp openatp/internal/route
openatp/journal: CORE openatp/internal/route
# The domain of advanced hunting: the logon events the stores keep.
openatp/hunting: CORE openatp
openatp/internal/alertlists: CORE openatp openatp/internal/jsonlex
openatp/internal/sqlstore: CORE io/fs openatp openatp/internal/jsonlex openatp/internal/alertlists
openatp/internal/sqlstore/actionsql: CORE openatp openatp/internal/sqlstore
openatp/internal/sqlstore/eventsql: CORE openatp openatp/observable openatp/internal/sqlstore
	openatp/sightings
# The read model's build's read of alerts: no join, decoded on several goroutines.
openatp/internal/sqlstore/alertscan: CORE openatp openatp/internal/sqlstore openatp/internal/lifetime
openatp/internal/sqlstore/tvmsql: CORE openatp openatp/internal/sqlstore openatp/vuln
openatp/internal/sqlstore/huntsql: CORE openatp openatp/internal/sqlstore openatp/kql
openatp/internal/demo: CORE crypto/md5 iter openatp openatp/vuln
# The request bodies of the action routes, checked and made into
# MachineActions: imported by responseapi and the store suite.
openatp/internal/actionrequest: CORE openatp openatp/observable

# The machine actions' lifecycle: a timer heap over the store interface.
openatp/actions: CORE container/heap openatp openatp/internal/lifetime

# Custom indicators meet events: the alerts they raise.
openatp/internal/timatch: CORE openatp openatp/observable openatp/sightings
openatp/ingest/indicatorio: SYSTEM openatp openatp/wire openatp/ingest openatp/internal/timatch

# The retention of observed events: a periodic sweep.
openatp/internal/retention: CORE openatp/internal/lifetime

# One package per outside dependency. Only they import a driver.
openatp/sqlite: SYSTEM SQL unsafe modernc.org/sqlite
	openatp openatp/internal/sqlstore openatp/internal/sqlstore/actionsql openatp/internal/sqlstore/alertscan
	openatp/internal/sqlstore/eventsql openatp/internal/sqlstore/tvmsql openatp/vuln
	openatp/internal/refcount openatp/internal/sqlstore/huntsql
openatp/postgres: SYSTEM net github.com/jackc/pgx/v5
	openatp openatp/internal/sqlstore openatp/internal/sqlstore/actionsql openatp/internal/sqlstore/alertscan
	openatp/internal/sqlstore/eventsql openatp/internal/sqlstore/tvmsql openatp/vuln
	openatp/internal/sqlstore/huntsql
openatp/redis: SYSTEM github.com/redis/go-redis/v9 openatp/ratelimit
	openatp/internal/lifetime

# The token issuer and verifier.
openatp/auth: HTTP github.com/golang-jwt/jwt/v5 github.com/MicahParks/jwkset
	golang.org/x/crypto openatp openatp/ratelimit openatp/internal/lifetime
	openatp/internal/password
openatp/internal/manage: CORE openatp openatp/internal/password
openatp/internal/demotenant: SYSTEM iter openatp openatp/hunting openatp/internal/demo openatp/internal/manage openatp/internal/timatch
	openatp/vuln
openatp/internal/tlsca: NET

# The read model: memory, no HTTP, no store engine.
openatp/readmodel/alertrec: CORE openatp/wire
openatp/readmodel/parts: CORE runtime
openatp/readmodel/evidence: CORE openatp openatp/observable
openatp/readmodel/names: CORE openatp/odata
openatp/readmodel/users: CORE
openatp/readmodel/checkpoint: SYSTEM unsafe hash/crc32
openatp/readmodel: SYSTEM unsafe openatp openatp/odata openatp/wire
	openatp/internal/refcount openatp/internal/lifetime openatp/readmodel/alertrec
	openatp/readmodel/parts openatp/readmodel/evidence openatp/readmodel/names
	openatp/readmodel/checkpoint openatp/readmodel/users
openatp/readmodel/keeper: SYSTEM openatp openatp/internal/lifetime openatp/readmodel

# The hunting tables: views over the read model and the stores.
openatp/huntables: CORE openatp openatp/observable openatp/hunting openatp/readmodel
	openatp/kql openatp/internal/sqlstore/huntsql
	openatp/internal/jsonlex openatp/internal/alertlists openatp/vuln

# The HTTP API, in three packages: no store engine, no driver, not the
# token service (auth's routes and verifier are composed with it in
# cmd/openatp; internal/manage reaches auth only for password hashes);
# mdeapi and adminapi do not import each other.
openatp/httpserve: HTTP github.com/prometheus/client_golang
	openatp openatp/wire openatp/fault openatp/journal openatp/ratelimit
	openatp/internal/route openatp/internal/accesslog openatp/internal/lifetime
# Encoded answers kept by key and dependencies: net/http only.
openatp/internal/answercache: HTTP
openatp/mdeapi: HTTP openatp openatp/odata openatp/wire openatp/readmodel
	openatp/httpserve openatp/internal/answercache
openatp/responseapi: HTTP mime/multipart archive/zip openatp openatp/odata
	openatp/wire openatp/readmodel openatp/httpserve openatp/mdeapi openatp/internal/actionrequest
openatp/indicatorapi: HTTP openatp openatp/observable openatp/odata openatp/wire openatp/readmodel
	openatp/internal/answercache
	openatp/httpserve openatp/mdeapi openatp/internal/timatch openatp/ingest/indicatorio
openatp/pivotapi: HTTP openatp openatp/observable openatp/wire openatp/readmodel
	openatp/readmodel/evidence openatp/httpserve openatp/mdeapi openatp/sightings
openatp/tvmapi: HTTP compress/gzip openatp openatp/odata openatp/wire openatp/readmodel
	openatp/httpserve openatp/mdeapi openatp/vuln
openatp/huntapi: HTTP openatp openatp/hunting openatp/huntables openatp/kql
	openatp/ratelimit openatp/httpserve openatp/mdeapi openatp/vuln
openatp/adminapi: HTTP openatp openatp/wire openatp/ingest openatp/ingest/indicatorio openatp/fault openatp/actions
	openatp/journal openatp/ratelimit openatp/readmodel
	openatp/internal/route openatp/internal/manage openatp/httpserve
	openatp/internal/timatch openatp/ingest/vulnimport openatp/vuln
# The composition of the four: the program's and the tests' server.
openatp/apiserver: CORE log/slog openatp openatp/actions openatp/fault
	openatp/internal/accesslog openatp/readmodel openatp/httpserve openatp/internal/answercache
	openatp/mdeapi openatp/responseapi openatp/indicatorapi openatp/pivotapi openatp/adminapi
	openatp/tvmapi openatp/vuln openatp/hunting openatp/huntapi

# Suites and servers for tests.
openatp/apitest: TESTING HTTP net/http/httptest go.uber.org/goleak openatp openatp/fault
	openatp/auth openatp/sqlite openatp/readmodel openatp/internal/accesslog
	openatp/internal/demo openatp/httpserve openatp/mdeapi openatp/adminapi
	openatp/actions openatp/responseapi openatp/apiserver
openatp/kql/kqltest: TESTING openatp/kql
openatp/storetest/internal/fixture: TESTING github.com/google/go-cmp openatp
openatp/storetest/internal/actionsuite: TESTING github.com/google/go-cmp openatp
	openatp/storetest/internal/fixture openatp/internal/actionrequest
openatp/storetest/internal/indicatorsuite: TESTING openatp
	openatp/storetest/internal/fixture
openatp/storetest/internal/eventsuite: TESTING openatp openatp/sightings openatp/storetest/internal/fixture
openatp/storetest/internal/vulnsuite: TESTING github.com/google/go-cmp openatp
	openatp/storetest/internal/fixture openatp/vuln
openatp/storetest: TESTING github.com/google/go-cmp openatp
	openatp/internal/sqlstore openatp/storetest/internal/fixture
	openatp/storetest/internal/actionsuite openatp/storetest/internal/eventsuite
	openatp/storetest/internal/indicatorsuite openatp/storetest/internal/vulnsuite openatp/storetest/internal/indicatorsuite openatp/hunting
openatp/ratelimit/ratelimittest: TESTING openatp/ratelimit
openatp/internal/pgtest: TESTING net github.com/jackc/pgx/v5 go.uber.org/goleak
openatp/internal/redistest: TESTING net

# The commands on top.
openatp/cmd/openatp: HTTP openatp openatp/internal/demotenant openatp/ingest/indicatorio openatp/apiserver openatp/httpserve openatp/mdeapi openatp/responseapi openatp/adminapi openatp/auth openatp/fault
	openatp/actions
	openatp/internal/lifetime openatp/internal/retention
	openatp/ingest openatp/journal openatp/postgres openatp/ratelimit
	openatp/readmodel openatp/readmodel/keeper openatp/redis openatp/sqlite openatp/wire
	openatp/internal/accesslog openatp/internal/demo openatp/internal/logbuf
	openatp/internal/manage openatp/internal/tlsca openatp/internal/timatch
	openatp/ingest/vulnimport openatp/cmd/openatp/internal/vulncli openatp/hunting openatp/huntapi
openatp/bench/baseline: HTTP
openatp/bench/tvmtool: SYSTEM openatp openatp/sqlite openatp/internal/demo openatp/vuln
openatp/bench/actiontool: HTTP openatp openatp/postgres openatp/sqlite
openatp/bench/benchtool: SYSTEM openatp openatp/postgres openatp/sqlite
openatp/bench/writer: HTTP openatp openatp/postgres openatp/sqlite
openatp/bench/events: SYSTEM openatp openatp/sqlite openatp/internal/demo openatp/internal/timatch
openatp/bench/huntsql: SYSTEM SQL modernc.org/sqlite

# The release's check that every target type-checks: Go's own type checker.
openatp/release/typecheck: SYSTEM os/exec go/ast go/parser go/token go/types

# The worked example of docs/testing.md is a client as its users write
# it: it knows openatp only over HTTP.
openatp/examples/connector: HTTP

# What tests may import besides their package's entry and the module.
TESTS: TESTING HTTP unsafe net/http/httptest go/parser go/token
	github.com/google/go-cmp github.com/golang-jwt/jwt/v5
	github.com/jackc/pgx/v5 github.com/redis/go-redis/v9
	go.uber.org/goleak
	github.com/Azure/azure-sdk-for-go/sdk/azcore
	github.com/Azure/azure-sdk-for-go/sdk/azidentity
`

const module = "github.com/openatp/openatp"

// An importEntry is one entry of importRules.
type importEntry struct {
	name  string
	items []string
	line  int
}

// parseImportRules reads importRules into its entries, in order.
func parseImportRules(text string) ([]importEntry, error) {
	var entries []importEntry
	for i, line := range strings.Split(text, "\n") {
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(entries) == 0 {
				return nil, fmt.Errorf("import rules, line %d: an indented line before any entry", i+1)
			}
			e := &entries[len(entries)-1]
			e.items = append(e.items, strings.Fields(line)...)
			continue
		}
		name, items, ok := strings.Cut(line, ":")
		if !ok || len(strings.Fields(name)) != 1 {
			return nil, fmt.Errorf("import rules, line %d: want \"name: what it may import\", have %q", i+1, line)
		}
		entries = append(entries, importEntry{name: strings.TrimSpace(name), items: strings.Fields(items), line: i + 1})
	}
	return entries, nil
}

func isGroup(name string) bool { return name == strings.ToUpper(name) }

func isOwn(name string) bool { return name == "openatp" || strings.HasPrefix(name, "openatp/") }

// isThirdParty reports whether name is a module path outside the standard
// library (its first element has a dot).
func isThirdParty(name string) bool {
	first, _, _ := strings.Cut(name, "/")
	return strings.Contains(first, ".")
}

// importPath is the import path of a name of the rules.
func importPath(name string) string {
	if isOwn(name) {
		return module + strings.TrimPrefix(name, "openatp")
	}
	return name
}

// allowSet is what an entry allows: import paths, and third-party modules
// (each allowing its packages).
type allowSet struct {
	paths   map[string]bool
	modules []string
}

func (s *allowSet) add(o *allowSet) {
	for p := range o.paths {
		s.paths[p] = true
	}
	s.modules = append(s.modules, o.modules...)
}

func (s *allowSet) allows(path string) bool {
	if s.paths[path] {
		return true
	}
	for _, m := range s.modules {
		if path == m || strings.HasPrefix(path, m+"/") {
			return true
		}
	}
	return false
}

// importFacts is what exists: the module's packages with their imports,
// the standard library, the modules go.mod requires.
type importFacts struct {
	pkgs     []goPackage
	std      map[string]bool
	required map[string]bool
}

type goPackage struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
}

// The import graph points one way, and only along the edges importRules
// allows: the domain at the bottom, one package per outside dependency
// beside it, the read model and the wire schema above the domain, the
// API above them, the commands on top.
func TestImportGraph(t *testing.T) {
	var f importFacts
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list: %v", err)
		}
		f.pkgs = append(f.pkgs, p)
	}
	out, err = exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Fatalf("go list std: %v", err)
	}
	f.std = make(map[string]bool)
	for _, p := range strings.Fields(string(out)) {
		f.std[p] = true
	}
	out, err = exec.Command("go", "mod", "edit", "-json").Output()
	if err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	var gomod struct{ Require []struct{ Path string } }
	if err := json.Unmarshal(out, &gomod); err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	f.required = make(map[string]bool)
	for _, r := range gomod.Require {
		f.required[r.Path] = true
	}

	// Problems name the line of this file.
	src, err := os.ReadFile("imports_test.go")
	if err != nil {
		t.Fatal(err)
	}
	first := bytes.Count(src[:bytes.Index(src, []byte("const importRules = `"))], []byte("\n"))
	for _, p := range checkImportRules(importRules, first, f) {
		t.Error(p)
	}
}

// checkImportRules checks the facts against the rules, whose first line is
// line first+1 of this file, and returns the problems.
func checkImportRules(rules string, first int, f importFacts) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	entries, err := parseImportRules(rules)
	if err != nil {
		return []string{err.Error()}
	}
	own := make(map[string]bool)
	for _, p := range f.pkgs {
		own[p.ImportPath] = true
	}

	// Each entry's allowed set, from the bottom up.
	sets := make(map[string]*allowSet)
	for _, e := range entries {
		where := fmt.Sprintf("imports_test.go:%d: %s", first+e.line, e.name)
		if sets[e.name] != nil {
			fail("%s: a second entry for %s", where, e.name)
			continue
		}
		if !isGroup(e.name) && !isOwn(e.name) {
			fail("%s: an entry is a group (in capitals) or a package of the module (openatp/...)", where)
		}
		if isOwn(e.name) && !own[importPath(e.name)] {
			fail("%s: no package %s in the module", where, importPath(e.name))
		}
		s := &allowSet{paths: make(map[string]bool)}
		for _, it := range e.items {
			switch {
			case isGroup(it):
				g := sets[it]
				if g == nil {
					fail("%s: group %s is not defined above", where, it)
					continue
				}
				s.add(g)
			case isOwn(it):
				if !own[importPath(it)] {
					fail("%s: no package %s in the module", where, importPath(it))
				} else if sets[it] == nil {
					fail("%s: %s has no entry above: a package imports only packages below it", where, it)
				}
				s.paths[importPath(it)] = true
			case isThirdParty(it):
				if !f.required[it] {
					fail("%s: go.mod requires no module %s", where, it)
				}
				s.modules = append(s.modules, it)
			default:
				if !f.std[it] {
					fail("%s: no package %s in the standard library", where, it)
				}
				s.paths[it] = true
			}
		}
		sets[e.name] = s
	}

	tests := sets["TESTS"]
	if tests == nil {
		fail("import rules: no TESTS entry")
		tests = &allowSet{}
	}
	for _, p := range f.pkgs {
		name := "openatp" + strings.TrimPrefix(p.ImportPath, module)
		s := sets[name]
		if s == nil {
			fail("package %s has no entry in the import rules: add one in its layer", name)
			continue
		}
		for _, imp := range p.Imports {
			if !s.allows(imp) {
				fail("%s imports %s, which its entry does not allow", name, imp)
			}
		}
		for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
			if !s.allows(imp) && !own[imp] && !tests.allows(imp) {
				fail("a test of %s imports %s, which neither its entry nor TESTS allows", name, imp)
			}
		}
	}
	return problems
}

// The checker itself finds each kind of problem, on a made-up module.
func TestImportRulesCheck(t *testing.T) {
	f := importFacts{
		pkgs: []goPackage{
			{ImportPath: module, Imports: []string{"fmt"}, XTestImports: []string{module, "testing"}},
			{ImportPath: module + "/low", Imports: []string{"fmt", "net/http"}},
			{ImportPath: module + "/high", Imports: []string{module, module + "/low", "example.com/m/sub"}, TestImports: []string{"os"}},
			{ImportPath: module + "/bare", Imports: []string{"fmt"}},
		},
		std:      map[string]bool{"fmt": true, "net/http": true, "os": true, "testing": true},
		required: map[string]bool{"example.com/m": true},
	}
	const good = `
CORE: fmt
openatp: CORE
openatp/low: CORE net/http
openatp/high: openatp openatp/low example.com/m
openatp/bare: CORE
TESTS: testing os
`
	if got := checkImportRules(good, 0, f); len(got) != 0 {
		t.Errorf("good rules: %q", got)
	}
	const bad = `
CORE: fmt nosuch
openatp: CORE LATER
openatp/low: CORE
openatp/high: openatp openatp/bare example.com/other
openatp/bare: CORE
openatp/bare: CORE
openatp/gone: CORE
lower: CORE
TESTS: testing
`
	want := []string{
		"imports_test.go:12: CORE: no package nosuch in the standard library",
		"imports_test.go:13: openatp: group LATER is not defined above",
		"imports_test.go:15: openatp/high: openatp/bare has no entry above: a package imports only packages below it",
		"imports_test.go:15: openatp/high: go.mod requires no module example.com/other",
		"imports_test.go:17: openatp/bare: a second entry for openatp/bare",
		"imports_test.go:18: openatp/gone: no package " + module + "/gone in the module",
		"imports_test.go:19: lower: an entry is a group (in capitals) or a package of the module (openatp/...)",
		"openatp/low imports net/http, which its entry does not allow",
		"openatp/high imports " + module + "/low, which its entry does not allow",
		"openatp/high imports example.com/m/sub, which its entry does not allow",
		"a test of openatp/high imports os, which neither its entry nor TESTS allows",
	}
	if got := checkImportRules(bad, 10, f); !slices.Equal(got, want) {
		t.Errorf("bad rules:\n got %q\nwant %q", got, want)
	}
	if _, err := parseImportRules("\tfmt\n"); err == nil {
		t.Error("an indented line before any entry: no error")
	}
	if _, err := parseImportRules("CORE fmt\n"); err == nil {
		t.Error("an entry without a colon: no error")
	}
}
