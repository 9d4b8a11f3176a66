package lambdarun

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

func TestListensOnTellsWhoseListenerAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !listensOn(os.Getpid(), l.Addr().String()) {
		t.Fatal("this process's listener not recognised")
	}
	other := exec.Command("sleep", "5")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	if listensOn(other.Process.Pid, l.Addr().String()) {
		t.Fatal("another process credited with this process's listener")
	}
	free, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if listensOn(os.Getpid(), free) {
		t.Fatal("a port nobody listens on was credited")
	}
}
