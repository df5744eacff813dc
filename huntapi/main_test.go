package huntapi_test

import (
	"testing"

	"github.com/openatp/openatp/internal/pgtest"
)

// TestMain stops the package's PostgreSQL cluster and fails the tests
// when a goroutine outlives them.
func TestMain(m *testing.M) { pgtest.Main(m) }
