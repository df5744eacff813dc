// Command typecheck type-checks packages and every package they import
// (the standard library's included), from source, for the GOOS, GOARCH and
// CGO_ENABLED of its environment, without compiling or linking them:
//
//	CGO_ENABLED=0 GOOS=windows GOARCH=arm64 go run ./release/typecheck ./cmd/openatp
//
// It is how CI sees, in seconds, that a release target stopped building
// (release/build.sh --check): a file whose build constraints leave a
// symbol undefined on one platform, a syscall field one platform lacks, a
// dependency that drops a platform. go vet and go build compile every
// dependency for the target, which costs about six times as much (the
// SQLite driver is large). What only the compiler or the linker can find
// (a missing assembly body) is left to release/build.sh.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// pkg is what go list says of a package.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	ImportMap  map[string]string
	Error      *struct{ Err string }
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: typecheck PACKAGE...")
		os.Exit(2)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "typecheck:", err)
		os.Exit(1)
	}
}

func run(patterns []string) error {
	// go list applies the build constraints of the target and lists every
	// dependency before the packages that import it.
	args := append([]string{"list", "-e", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,ImportMap,Error"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go list: %w", err)
	}
	goos, goarch := env("GOOS", runtime.GOOS), env("GOARCH", runtime.GOARCH)
	sizes := types.SizesFor("gc", goarch)
	if sizes == nil {
		return fmt.Errorf("unknown GOARCH %q", goarch)
	}
	fset := token.NewFileSet()
	checked := map[string]*types.Package{"unsafe": types.Unsafe}
	var failed []error
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("go list: %w", err)
		}
		if p.ImportPath == "unsafe" {
			continue
		}
		if p.Error != nil {
			failed = append(failed, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err))
			continue
		}
		if len(p.CgoFiles) > 0 {
			failed = append(failed, fmt.Errorf("%s: needs cgo (CGO_ENABLED=0 builds are static)", p.ImportPath))
			continue
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			files = append(files, f)
		}
		var errs []error
		conf := types.Config{
			Importer: importerFunc(func(path string) (*types.Package, error) {
				if m, ok := p.ImportMap[path]; ok {
					path = m
				}
				if tp := checked[path]; tp != nil {
					return tp, nil
				}
				return nil, fmt.Errorf("%s was not type-checked", path)
			}),
			Sizes: sizes,
			Error: func(err error) {
				if len(errs) < 10 {
					errs = append(errs, err)
				}
			},
		}
		tp, _ := conf.Check(p.ImportPath, fset, files, nil)
		if len(errs) > 0 {
			failed = append(failed, fmt.Errorf("%s:\n%w", p.ImportPath, errors.Join(errs...)))
			continue
		}
		checked[p.ImportPath] = tp
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s/%s:\n%w", goos, goarch, errors.Join(failed...))
	}
	fmt.Printf("%s/%s: %d packages type-check\n", goos, goarch, len(checked))
	return nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
