package pivotapi_test

import (
	"testing"

	"github.com/openatp/openatp/apitest"
)

// TestMain fails the package's tests when a goroutine outlives them.
func TestMain(m *testing.M) { apitest.Main(m) }
