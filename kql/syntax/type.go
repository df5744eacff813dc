package syntax

import "strconv"

// Type is a KQL scalar type.
type Type uint8

// The KQL types. Values of each are the Go values listed, or nil for null
// (a string is never null: nil reads as the empty string).
const (
	String   Type = iota + 1 // string
	Long                     // int64
	Int                      // int32
	Real                     // float64
	Bool                     // bool
	DateTime                 // time.Time, in UTC, to the 100 ns tick
	TimeSpan                 // time.Duration
	Dynamic                  // nil, bool, int64, float64, string, []any, map[string]any
	Guid                     // string
)

var typeNames = [...]string{
	String: "string", Long: "long", Int: "int", Real: "real", Bool: "bool",
	DateTime: "datetime", TimeSpan: "timespan", Dynamic: "dynamic", Guid: "guid",
}

var apiNames = [...]string{
	String: "String", Long: "Int64", Int: "Int32", Real: "Double", Bool: "Boolean",
	DateTime: "DateTime", TimeSpan: "TimeSpan", Dynamic: "Object", Guid: "Guid",
}

// String returns the KQL name of t ("string", "datetime", ...).
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// APIName returns the name the MDE API prints for t in a result's schema
// ("String", "Int64", "DateTime", "Object", ...).
func (t Type) APIName() string {
	if int(t) < len(apiNames) && apiNames[t] != "" {
		return apiNames[t]
	}
	return t.String()
}

// TypeFromName returns the type a KQL type name (as in typeof) names.
func TypeFromName(s string) (Type, bool) {
	switch s {
	case "int64":
		return Long, true
	case "int32":
		return Int, true
	case "double":
		return Real, true
	case "boolean":
		return Bool, true
	case "date":
		return DateTime, true
	case "time":
		return TimeSpan, true
	case "uuid", "uniqueid":
		return Guid, true
	}
	for t, n := range typeNames {
		if n != "" && n == s {
			return Type(t), true
		}
	}
	return 0, false
}
