package iam

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
)

// Decision is the evaluator's answer for one check.
type Decision string

// The decisions of iam-simulate; Error is a request it could not evaluate
// (an action or context key unknown to it), which denies.
const (
	Allowed          Decision = "Allowed"
	ImplicitlyDenied Decision = "ImplicitlyDenied"
	ExplicitlyDenied Decision = "ExplicitlyDenied"
	Error            Decision = "Error"
)

// evaluator is one long-lived Node process running evaluate.mjs, shared by
// every check of a process; decisions are cached, so a check evaluates once.
type evaluator struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan answer
	dead    error

	cache sync.Map // cache key → answer
}

type answer struct {
	Decision Decision `json:"decision"`
	Error    string   `json:"error"`
}

type question struct {
	ID        int64          `json:"id"`
	Policy    Policy         `json:"policy"`
	Principal string         `json:"principal"`
	Action    string         `json:"action"`
	Resource  string         `json:"resource"`
	Context   map[string]any `json:"context,omitempty"`
}

// startEvaluator starts the evaluator of the repository at root; make deps
// installs it (npm ci --prefix infra/iam/node).
func startEvaluator(root string) (*evaluator, error) {
	dir := filepath.Join(root, "infra", "iam", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@cloud-copilot", "iam-simulate")); err != nil {
		return nil, errors.New("the IAM evaluator is not installed: run 'make deps' (npm ci --prefix infra/iam/node)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node not found: the IAM evaluator runs on Node.js ('make deps' installs it)")
	}
	cmd := exec.Command(node, "evaluate.mjs")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the IAM evaluator: %w", err)
	}
	e := &evaluator{cmd: cmd, stdin: stdin, pending: map[int64]chan answer{}}
	go e.read(stdout)
	return e, nil
}

func (e *evaluator) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var a struct {
			ID int64 `json:"id"`
			answer
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			continue
		}
		e.mu.Lock()
		ch := e.pending[a.ID]
		delete(e.pending, a.ID)
		e.mu.Unlock()
		if ch != nil {
			ch <- a.answer
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dead = errors.New("the IAM evaluator exited")
	for id, ch := range e.pending {
		ch <- answer{Decision: Error, Error: e.dead.Error()}
		delete(e.pending, id)
	}
}

// evaluate decides one check for a principal holding policy; policyID names
// the policy in the cache (it changes whenever the policy does).
func (e *evaluator) evaluate(ctx context.Context, policyID string, policy Policy, principal string, c Check) (answer, error) {
	ctxJSON, err := json.Marshal(c.Context)
	if err != nil {
		return answer{}, err
	}
	// A policy without statements allows nothing (the evaluator's policy
	// validation refuses an empty one).
	if st, _ := policy["Statement"].([]any); len(st) == 0 {
		return answer{Decision: ImplicitlyDenied}, nil
	}
	key := policyID + "\x00" + c.Action + "\x00" + c.Resource + "\x00" + string(ctxJSON)
	if a, ok := e.cache.Load(key); ok {
		return a.(answer), nil
	}
	ch := make(chan answer, 1)
	e.mu.Lock()
	if e.dead != nil {
		e.mu.Unlock()
		return answer{}, e.dead
	}
	e.nextID++
	id := e.nextID
	e.pending[id] = ch
	line, err := json.Marshal(question{ID: id, Policy: policy, Principal: principal, Action: c.Action, Resource: c.Resource, Context: c.Context})
	if err == nil {
		_, err = e.stdin.Write(append(line, '\n'))
	}
	if err != nil {
		delete(e.pending, id)
		e.mu.Unlock()
		return answer{}, fmt.Errorf("IAM evaluator: %w", err)
	}
	e.mu.Unlock()
	select {
	case a := <-ch:
		if a.Decision != Error {
			e.cache.Store(key, a)
		}
		return a, nil
	case <-ctx.Done():
		e.mu.Lock()
		delete(e.pending, id)
		e.mu.Unlock()
		return answer{}, ctx.Err()
	}
}

func (e *evaluator) stop() {
	_ = e.stdin.Close()
	_ = e.cmd.Wait()
}
