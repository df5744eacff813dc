package redis_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// Counter's watch stops with its Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
