package openatp

import "fmt"

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// Ptr returns a pointer to v; handy for the optional fields of Machine.
func Ptr[T any](v T) *T { return &v }
