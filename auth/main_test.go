package auth

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// Service's refreshes and fetches stop with its Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
