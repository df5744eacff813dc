package actions

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/openatp/openatp"
)

// What a test sets of live response commands (Controls): what a RunScript
// of a library script answers, and the files on a machine that GetFile
// fetches. A command that ran keeps its result (Controls.Result) as it
// was when it ran, for the last MaxKeptResults actions of the process.

// Bounds of the files placed on machines, per file and per tenant.
const (
	MaxPlacedFile   = 10 << 20  // bytes of one file
	MaxPlacedFiles  = 100 << 20 // bytes of a tenant's files, together
	MaxScripts      = 1000      // scripts set per tenant
	MaxScriptText   = 1 << 20   // bytes of a script's output, and of its errors
	MaxKeptResults  = 1000      // actions whose results are kept, the newest
	maxPlacedPath   = 1024      // characters of a placed file's path
	maxScriptName   = 255       // characters of a script's name
	maxPlacedOnHost = 1000      // files per machine
)

// Script is what a RunScript of a library script answers, in the
// transcript its result link serves (script_name, exit_code,
// script_output, script_errors). A non-zero exit code does not fail the
// command: it is Completed, as the service reports a script that ran.
type Script struct {
	Name     string `json:"name"`
	ExitCode int    `json:"exitCode"`
	Output   string `json:"output"`
	Errors   string `json:"errors"`
}

// PlacedFile is a file placed on a machine, as listed.
type PlacedFile struct {
	MachineID string `json:"machineId"`
	Path      string `json:"path"`
	Size      int    `json:"size"`
}

// liveControls are the scripts, files and kept results of Controls.
type liveControls struct {
	mu      sync.Mutex
	scripts map[[2]string]Script   // tenant, lower-case name
	files   map[fileKey]placed     // tenant, machine, lower-case path
	bytes   map[string]int         // tenant → bytes placed
	results map[key]map[int][]byte // the results of the commands that ran under a control
	order   []key                  // of results, oldest first
}

type fileKey struct{ tenant, machine, path string }

type placed struct {
	path string // as given
	b    []byte
}

// SetScript sets what a RunScript of script s.Name answers in a tenant
// (the name matched ignoring case). Invalid, naming the field, for an
// empty or long name, a long output or errors text, or one script more
// than MaxScripts.
func (c *Controls) SetScript(tenantID string, s Script) (Script, error) {
	if s.Name == "" || len(s.Name) > maxScriptName || strings.ContainsAny(s.Name, "/\\\x00") {
		return s, openatp.InvalidField("name", "a script's name is 1 to %d characters, without / or \\", maxScriptName)
	}
	if len(s.Output) > MaxScriptText {
		return s, openatp.InvalidField("output", "is longer than %d bytes", MaxScriptText)
	}
	if len(s.Errors) > MaxScriptText {
		return s, openatp.InvalidField("errors", "is longer than %d bytes", MaxScriptText)
	}
	l := &c.live
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{tenantID, strings.ToLower(s.Name)}
	if _, ok := l.scripts[k]; !ok && len(c.scriptsLocked(tenantID)) >= MaxScripts {
		return s, openatp.InvalidField("name", "the tenant has %d scripts set, the most allowed", MaxScripts)
	}
	if l.scripts == nil {
		l.scripts = map[[2]string]Script{}
	}
	l.scripts[k] = s
	return s, nil
}

// Scripts returns the scripts set of a tenant, sorted by name.
func (c *Controls) Scripts(tenantID string) []Script {
	c.live.mu.Lock()
	defer c.live.mu.Unlock()
	return c.scriptsLocked(tenantID)
}

func (c *Controls) scriptsLocked(tenantID string) []Script {
	out := []Script{}
	for k, s := range c.live.scripts {
		if k[0] == tenantID {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Script) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out
}

// RemoveScript removes what a script answers (name "": every script of
// the tenant); it reports whether there was something to remove.
func (c *Controls) RemoveScript(tenantID, name string) bool {
	l := &c.live
	l.mu.Lock()
	defer l.mu.Unlock()
	found := false
	for k := range l.scripts {
		if k[0] == tenantID && (name == "" || k[1] == strings.ToLower(name)) {
			delete(l.scripts, k)
			found = true
		}
	}
	return found
}

// PlaceFile places a file on a machine of a tenant at path (matched
// ignoring case, as Windows does), replacing one there: a GetFile of
// that path then completes and its result link serves b. Invalid, naming
// the field, for an empty or long path, a file over MaxPlacedFile, or
// files over MaxPlacedFiles in the tenant (TooLarge for those two).
func (c *Controls) PlaceFile(tenantID, machineID, path string, b []byte) (PlacedFile, error) {
	if path == "" || len(path) > maxPlacedPath || strings.ContainsRune(path, 0) {
		return PlacedFile{}, openatp.InvalidField("path", "a path is 1 to %d characters", maxPlacedPath)
	}
	if len(b) > MaxPlacedFile {
		return PlacedFile{}, openatp.CodedErrorf(openatp.TooLarge, "RequestEntityTooLarge", "A file placed on a machine is at most %d MiB.", MaxPlacedFile>>20)
	}
	machineID = strings.ToLower(machineID)
	k := fileKey{tenantID, machineID, strings.ToLower(path)}
	l := &c.live
	l.mu.Lock()
	defer l.mu.Unlock()
	old, had := l.files[k]
	if l.bytes[tenantID]-len(old.b)+len(b) > MaxPlacedFiles {
		return PlacedFile{}, openatp.CodedErrorf(openatp.TooLarge, "RequestEntityTooLarge",
			"The files placed on the tenant's machines are at most %d MiB together: remove some first.", MaxPlacedFiles>>20)
	}
	if !had && len(c.filesLocked(tenantID, machineID)) >= maxPlacedOnHost {
		return PlacedFile{}, openatp.InvalidField("path", "the machine has %d files placed, the most allowed", maxPlacedOnHost)
	}
	if l.files == nil {
		l.files, l.bytes = map[fileKey]placed{}, map[string]int{}
	}
	l.files[k] = placed{path: path, b: slices.Clone(b)}
	l.bytes[tenantID] += len(b) - len(old.b)
	return PlacedFile{MachineID: machineID, Path: path, Size: len(b)}, nil
}

// Files returns the files placed on a machine of a tenant, sorted by
// path.
func (c *Controls) Files(tenantID, machineID string) []PlacedFile {
	c.live.mu.Lock()
	defer c.live.mu.Unlock()
	return c.filesLocked(tenantID, strings.ToLower(machineID))
}

func (c *Controls) filesLocked(tenantID, machineID string) []PlacedFile {
	out := []PlacedFile{}
	for k, p := range c.live.files {
		if k.tenant == tenantID && k.machine == machineID {
			out = append(out, PlacedFile{MachineID: machineID, Path: p.path, Size: len(p.b)})
		}
	}
	slices.SortFunc(out, func(a, b PlacedFile) int { return cmp.Compare(strings.ToLower(a.Path), strings.ToLower(b.Path)) })
	return out
}

// RemoveFile removes the file at path from a machine (path "": every
// file of the machine); it reports whether there was something to
// remove. Results that served a file keep it.
func (c *Controls) RemoveFile(tenantID, machineID, path string) bool {
	l := &c.live
	l.mu.Lock()
	defer l.mu.Unlock()
	machineID, path = strings.ToLower(machineID), strings.ToLower(path)
	found := false
	for k, p := range l.files {
		if k.tenant == tenantID && k.machine == machineID && (path == "" || k.path == path) {
			delete(l.files, k)
			l.bytes[tenantID] -= len(p.b)
			found = true
		}
	}
	return found
}

// RunFunc is a Config.Run.
type RunFunc = func(ctx context.Context, tenantID string, a *openatp.MachineAction, c *openatp.LiveResponseCommand) string

// Runner returns a Config.Run that runs live response commands under the
// controls, and next (such as LibraryRunner) for the rest: a GetFile of
// a file placed on the action's machine completes, its result that
// file's bytes; a RunScript that next completes, of a script set, has
// that script's transcript as its result. The results are kept for
// Result.
func (c *Controls) Runner(next RunFunc) RunFunc {
	return func(ctx context.Context, tenantID string, a *openatp.MachineAction, cmd *openatp.LiveResponseCommand) string {
		index := -1
		for i := range a.Commands {
			if &a.Commands[i].Command == cmd {
				index = i
			}
		}
		l := &c.live
		if cmd.Type == openatp.CommandGetFile {
			l.mu.Lock()
			p, ok := l.files[fileKey{tenantID, a.MachineID, strings.ToLower(cmd.Param("Path"))}]
			l.mu.Unlock()
			if ok {
				c.keep(key{tenantID, a.ID}, index, p.b)
				return ""
			}
		}
		msg := next(ctx, tenantID, a, cmd)
		if msg != "" || cmd.Type != openatp.CommandRunScript {
			return msg
		}
		l.mu.Lock()
		s, ok := l.scripts[[2]string{tenantID, strings.ToLower(cmd.Param("ScriptName"))}]
		l.mu.Unlock()
		if ok {
			c.keep(key{tenantID, a.ID}, index, openatp.MarshalTranscript(openatp.ScriptTranscript{
				ScriptName: cmd.Param("ScriptName"), ExitCode: s.ExitCode, ScriptOutput: s.Output, ScriptErrors: s.Errors}))
		}
		return ""
	}
}

// keep keeps the result of command index of an action, forgetting those
// of the oldest action beyond MaxKeptResults. The step that ran it may be
// written again (a retry): the result is then replaced.
func (c *Controls) keep(k key, index int, b []byte) {
	if index < 0 {
		return
	}
	l := &c.live
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.results == nil {
		l.results = map[key]map[int][]byte{}
	}
	rs, ok := l.results[k]
	if !ok {
		if len(l.order) >= MaxKeptResults {
			delete(l.results, l.order[0])
			l.order = slices.Delete(l.order, 0, 1)
		}
		rs = map[int][]byte{}
		l.results[k] = rs
		l.order = append(l.order, k)
	}
	rs[index] = b
}

// Result returns the result of command index of action a of a tenant
// that ran under the controls (Runner): a GetFile's file, a set script's
// transcript; ok is false for any other.
func (c *Controls) Result(tenantID string, a *openatp.MachineAction, index int) (b []byte, ok bool) {
	c.live.mu.Lock()
	defer c.live.mu.Unlock()
	b, ok = c.live.results[key{tenantID, a.ID}][index]
	return b, ok
}

// Result returns the result file of command index of live response
// action a of a tenant as Config.Results has it; ok is false when it has
// none (the command's usual result applies: a RunScript's deterministic
// transcript).
func (c *Clock) Result(tenantID string, a *openatp.MachineAction, index int) ([]byte, bool) {
	if c.cfg.Results == nil {
		return nil, false
	}
	return c.cfg.Results(tenantID, a, index)
}
