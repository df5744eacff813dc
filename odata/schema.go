package odata

import (
	"fmt"
	"strconv"
)

// Kind is the type of a property in a Schema.
type Kind uint8

// The property kinds.
const (
	String           Kind = iota + 1 // a string; read with Entity.String
	Int                              // a 64-bit integer; read with Entity.Int
	Time                             // an instant (Edm.DateTimeOffset); read with Entity.Time
	Bool                             // a boolean; read with Entity.Bool
	StringCollection                 // a list of strings, filtered with any/all; read with Entity.Strings
	Enum                             // one of Property.Values, sent as a string; read with Entity.String
)

// String returns the kind's name, such as "Int".
func (k Kind) String() string {
	switch k {
	case String:
		return "String"
	case Int:
		return "Int"
	case Time:
		return "Time"
	case Bool:
		return "Bool"
	case StringCollection:
		return "StringCollection"
	case Enum:
		return "Enum"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// article returns how messages name a value of the kind: "a string".
func (k Kind) article() string {
	switch k {
	case String, Enum:
		return "a string"
	case Int:
		return "an integer"
	case Time:
		return "a date"
	case Bool:
		return "a boolean"
	}
	return "a collection"
}

// maxEnumValues bounds Property.Values so that a set of them fits a uint64.
const maxEnumValues = 64

// Property describes one property of an entity set.
type Property struct {
	// Name is the property's canonical spelling, such as "computerDnsName".
	// Queries name it in any letter case.
	Name string
	// Kind is the property's type.
	Kind Kind
	// Values are the members of an Enum in their canonical spelling and in
	// their order: "riskScore gt 'Low'" and $orderby use it.
	Values []string
	// Filterable, Orderable and Selectable say where queries may name it.
	Filterable, Orderable, Selectable bool
}

// Prop returns the property name of kind k (an Enum's values given):
// filterable and orderable when filter is set, but a StringCollection is
// never orderable.
func Prop(name string, k Kind, filter bool, values ...string) Property {
	return Property{Name: name, Kind: k, Values: values, Filterable: filter, Orderable: filter && k != StringCollection}
}

// Schema describes the properties of an entity set. A property is known to
// callers by its index, its position in the list given to NewSchema.
type Schema struct {
	props []Property
}

// NewSchema returns a schema of the given properties. It panics on a
// schema that cannot be right, since a schema is a constant of the
// program: an empty or non-identifier name, two names equal but for case,
// a name that is an operator or keyword of the filter language, an Enum
// without values or with more than 64, a StringCollection marked
// Orderable, or an unknown Kind.
func NewSchema(props ...Property) *Schema {
	s := &Schema{props: make([]Property, len(props))}
	for i, p := range props {
		if !isIdent(p.Name) || isReserved(p.Name) {
			panic(fmt.Sprintf("odata: property %d: bad name %q", i, p.Name))
		}
		if _, dup := s.Lookup(p.Name); dup {
			panic(fmt.Sprintf("odata: property %q is listed twice", p.Name))
		}
		switch {
		case p.Kind < String || p.Kind > Enum:
			panic(fmt.Sprintf("odata: property %q has unknown kind %d", p.Name, p.Kind))
		case p.Kind == Enum && (len(p.Values) == 0 || len(p.Values) > maxEnumValues):
			panic(fmt.Sprintf("odata: enum %q needs 1 to %d values", p.Name, maxEnumValues))
		case p.Kind != Enum && len(p.Values) > 0:
			panic(fmt.Sprintf("odata: property %q has values but is not an Enum", p.Name))
		case p.Kind == StringCollection && p.Orderable:
			panic(fmt.Sprintf("odata: collection %q cannot be Orderable", p.Name))
		}
		p.Values = append([]string(nil), p.Values...)
		s.props[i] = p
	}
	return s
}

// Len returns the number of properties.
func (s *Schema) Len() int { return len(s.props) }

// Property returns the property at index i. Its Values must not be modified.
func (s *Schema) Property(i int) Property { return s.props[i] }

// Lookup returns the index of the property called name in any letter case.
func (s *Schema) Lookup(name string) (int, bool) {
	for i := range s.props {
		if s.props[i].Name != "" && equalFold(s.props[i].Name, name) {
			return i, true
		}
	}
	return -1, false
}

// enumIndex returns the position of v among the values of an enum,
// matched in any ASCII letter case, or -1.
func enumIndex(values []string, v string) int {
	for i, w := range values {
		if equalFold(v, w) {
			return i
		}
	}
	return -1
}

// errorf returns an *Error.
func errorf(option string, pos int, format string, args ...any) *Error {
	return &Error{Option: option, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Error is the error every function of the package returns: what an OData
// service answers with 400 ODataError.
type Error struct {
	// Option is the query option at fault, such as "$filter" or "$top".
	Option string
	// Pos is the 1-based byte position of the fault in the option's value
	// (after URL decoding); it is len(value)+1 for a fault at its end, and
	// 0 when the fault is the value as a whole ("$top: 10001 is more than
	// the maximum of 10000", "$count given more than once"), where a
	// position would say nothing.
	Pos int
	// Msg says what is wrong.
	Msg string
}

// Error returns the error as "$filter: unknown property 'foo' at position
// 12", or without the position when Pos is 0: "$top: 10001 is more than the
// maximum of 10000".
func (e *Error) Error() string {
	if e.Pos == 0 {
		return e.Option + ": " + e.Msg
	}
	return e.Option + ": " + e.Msg + " at position " + strconv.Itoa(e.Pos)
}

// Fold returns s with ASCII letters lower-cased: the key under which a
// string or enum value must be looked up for the values EqualityOn returns.
// Two strings compare equal in a filter if and only if their Folds are equal.
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether a and b are equal under ASCII case folding.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// compareFold compares a and b byte by byte under ASCII case folding.
func compareFold(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		x, y := lower(a[i]), lower(b[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return cmpInt(len(a), len(b))
}

// cmpInt compares two ordered numbers.
func cmpInt[T int | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
