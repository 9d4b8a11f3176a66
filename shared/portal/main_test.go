package portal_test

import (
	"os"
	"testing"

	"credportal/infra/emulator"
)

// TestMain shares one emulator among the package's tests.
func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m)) }
