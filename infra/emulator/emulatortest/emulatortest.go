// Package emulatortest is test support for the AWS emulator: one
// moto_server shared by the tests of a package, and fresh resources for each
// test, made from template.yaml's own definitions.
package emulatortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/infra/emulator"
	"credportal/infra/provision"
	"credportal/infra/template"
)

// TB is the part of *testing.T and *testing.B the helpers use.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// M is the part of *testing.M RunTests uses.
type M interface{ Run() int }

var shared struct {
	once sync.Once
	emu  *emulator.Emulator
	err  error
}

// RunTests runs a package's tests and stops the emulator they shared, if any:
// call it from TestMain.
func RunTests(m M) int {
	code := m.Run()
	shared.emu.Stop()
	return code
}

// ForTest returns the emulator shared by the tests of this package, started
// on a free 127.0.0.1 port on first use. Use RunTests in TestMain to stop it.
func ForTest(t TB) *emulator.Emulator {
	t.Helper()
	shared.once.Do(func() {
		shared.emu, shared.err = emulator.StartFree(context.Background(), "127.0.0.1")
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

// NewTable creates in emu a fresh table from template.yaml's Table resource
// and returns its name.
func NewTable(t TB, emu *emulator.Emulator) string {
	t.Helper()
	tmpl, _, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	name := UniqueName("portal-test-")
	if err := provision.Table(context.Background(), dynamodb.NewFromConfig(emu.Config()), tmpl, "Table", name); err != nil {
		t.Fatal(err)
	}
	return name
}

// NewSecret creates in emu a fresh generated secret and returns its name.
func NewSecret(t TB, emu *emulator.Emulator) string {
	t.Helper()
	name := UniqueName("portal-test-pepper-")
	if err := provision.GeneratedSecret(context.Background(), secretsmanager.NewFromConfig(emu.Config()), name); err != nil {
		t.Fatal(err)
	}
	return name
}
