package portal_test

import (
	"os"
	"testing"

	"credportal/infra/emulator/emulatortest"
)

// TestMain shares one emulator among the package's tests.
func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }
