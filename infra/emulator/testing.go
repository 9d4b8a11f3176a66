package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/infra/provision"
	"credportal/infra/template"
)

var shared struct {
	once sync.Once
	emu  *Emulator
	err  error
}

// RunTests runs a package's tests and stops the emulator they shared, if any:
// call it from TestMain.
func RunTests(m *testing.M) int {
	code := m.Run()
	shared.emu.Stop()
	return code
}

// ForTest returns the emulator shared by the tests of this package, started
// on a free 127.0.0.1 port on first use. Use RunTests in TestMain to stop it.
func ForTest(t testing.TB) *Emulator {
	t.Helper()
	shared.once.Do(func() {
		shared.emu, shared.err = StartFree(context.Background(), "127.0.0.1")
	})
	if shared.err != nil {
		t.Fatalf("emulator: %v", shared.err)
	}
	return shared.emu
}

// UniqueName returns prefix followed by random hex, for per-test resources.
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewTable creates a fresh table from template.yaml's Table resource and
// returns its name.
func (e *Emulator) NewTable(t testing.TB) string {
	t.Helper()
	tmpl, _, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	name := UniqueName("portal-test-")
	if err := provision.Table(context.Background(), dynamodb.NewFromConfig(e.Config()), tmpl, "Table", name); err != nil {
		t.Fatal(err)
	}
	return name
}

// NewSecret creates a fresh generated secret and returns its name.
func (e *Emulator) NewSecret(t testing.TB) string {
	t.Helper()
	name := UniqueName("portal-test-pepper-")
	if err := provision.GeneratedSecret(context.Background(), secretsmanager.NewFromConfig(e.Config()), name); err != nil {
		t.Fatal(err)
	}
	return name
}
