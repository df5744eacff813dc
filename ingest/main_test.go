package ingest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// load's reading goroutine ends with its input, or at its next record
// after an error.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
