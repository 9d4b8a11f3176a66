// Package testlog is test support for what the portal writes to its logs:
// a buffer that concurrent writers may share, and a way to capture slog's
// default logger for the length of a test.
package testlog

import (
	"bytes"
	"log/slog"
	"sync"
)

// Buffer is a bytes.Buffer that goroutines may write and read at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TB is the part of *testing.T Capture uses.
type TB interface {
	Helper()
	Cleanup(func())
}

// Capture sends slog's default logger, at every level and as JSON, to the
// returned buffer until the test ends.
func Capture(t TB) *Buffer {
	t.Helper()
	var b Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &b
}
