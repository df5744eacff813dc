package kql

import "github.com/openatp/openatp/kql/syntax"

// Error is a query that cannot run: a syntax error, a name that does not
// resolve, a type that does not fit, an operator or function outside the
// subset (Name names it), or a limit reached.
type Error = syntax.Error

// Pos is a position in a query: a 1-based line and a 1-based column
// counted in characters.
type Pos = syntax.Pos

// Type is a KQL scalar type.
type Type = syntax.Type

// The KQL types. Values of each are the Go values listed, or nil for null
// (a string is never null: nil reads as the empty string).
const (
	String   = syntax.String   // string
	Long     = syntax.Long     // int64
	Int      = syntax.Int      // int32
	Real     = syntax.Real     // float64
	Bool     = syntax.Bool     // bool
	DateTime = syntax.DateTime // time.Time, in UTC, to the 100 ns tick
	TimeSpan = syntax.TimeSpan // time.Duration
	Dynamic  = syntax.Dynamic  // nil, bool, int64, float64, string, []any, map[string]any
	Guid     = syntax.Guid     // string
)

// MaxQueryLength is the longest query text Parse accepts, in bytes.
const MaxQueryLength = syntax.MaxQueryLength

func errorf(p Pos, name, format string, args ...any) *Error {
	return syntax.Errorf(p, name, format, args...)
}

// unsupported is the error of an operator or function outside the subset.
func unsupported(p Pos, what, name string) *Error {
	return syntax.Unsupported(p, what, name)
}
