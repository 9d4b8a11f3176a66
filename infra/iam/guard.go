package iam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/infra/emulator"
	"credportal/infra/template"
)

// Account is the account id of the emulator's ARNs (moto's default).
const Account = "123456789012"

// Guard is the emulator's Authorizer: it evaluates each call signed with a
// registered function's access key against that function's policy.
type Guard struct {
	root string
	db   *dynamodb.Client
	sm   *secretsmanager.Client
	ses  *sesv2.Client

	evalOnce sync.Once
	eval     *evaluator
	evalErr  error

	mu         sync.RWMutex
	principals map[string]*principal

	tables  sync.Map // table name → tableKeys
	secrets sync.Map // secret name → ARN

	seenMu sync.Mutex
	seen   map[Seen]bool
	log    *os.File
}

// Seen is one (function, action, decision) the guard has decided.
type Seen struct {
	Function string
	Action   string
	Decision Decision
}

type principal struct {
	function, arn, policyID string
	policy                  Policy
}

type tableKeys struct {
	table   string
	indexes map[string]string
}

var _ emulator.Authorizer = (*Guard)(nil)

// guards holds the guard of each emulator, so that every harness sharing an
// emulator registers with the same one.
var guards struct {
	sync.Mutex
	byEmulator map[*emulator.Emulator]*Guard
}

// Enforce puts a guard in front of emu (once) and returns it. root is the
// repository root, where the evaluator is installed. With IAM_DECISIONS_LOG
// set, each distinct (function, action, decision) is appended to that file.
func Enforce(emu *emulator.Emulator, root string) *Guard {
	guards.Lock()
	defer guards.Unlock()
	if g := guards.byEmulator[emu]; g != nil {
		return g
	}
	cfg := aws.Config{
		Region:       emulator.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(emu.MotoURL),
	}
	g := &Guard{
		root: root, principals: map[string]*principal{}, seen: map[Seen]bool{},
		db: dynamodb.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg), ses: sesv2.NewFromConfig(cfg),
	}
	if path := os.Getenv("IAM_DECISIONS_LOG"); path != "" {
		g.log, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	}
	if guards.byEmulator == nil {
		guards.byEmulator = map[*emulator.Emulator]*Guard{}
	}
	guards.byEmulator[emu] = g
	emu.SetAuthorizer(g)
	return g
}

// Stop ends the guard's evaluator; the emulator's Stop calls it.
func (g *Guard) Stop() {
	guards.Lock()
	for emu, other := range guards.byEmulator {
		if other == g {
			delete(guards.byEmulator, emu)
		}
	}
	guards.Unlock()
	if g.eval != nil {
		g.eval.stop()
	}
	if g.log != nil {
		g.log.Close()
	}
}

// AccessKey is the access key id a function of a stack signs with. It is
// readable in the emulator's log and in denials.
func AccessKey(stack, logicalID string) string { return logicalID + "@" + stack }

// Register gives each function of fns, in the stack called stack whose
// resources locals names, its policy from the repository's template.yaml,
// and returns the access key id each must sign with (by logical id).
// Secrets must exist in the emulator already: their ARNs stand where the
// policies name them.
func (g *Guard) Register(ctx context.Context, tmpl *template.Template, locals template.Locals, stack string, fns []template.Function) (map[string]string, error) {
	return g.RegisterFrom(ctx, filepath.Join(g.root, "template.yaml"), tmpl, locals, stack, fns)
}

// RegisterFrom is Register with the policies of the SAM template at path
// (tmpl, parsed): a test can show what another policy would do.
func (g *Guard) RegisterFrom(ctx context.Context, path string, tmpl *template.Template, locals template.Locals, stack string, fns []template.Function) (map[string]string, error) {
	g.evalOnce.Do(func() { g.eval, g.evalErr = startEvaluator(g.root) })
	if g.evalErr != nil {
		return nil, g.evalErr
	}
	// In AWS, !Ref of a secret is its ARN, with the suffix Secrets Manager
	// adds to its name.
	l := locals
	l.Refs = map[string]string{}
	for k, v := range locals.Refs {
		l.Refs[k] = v
	}
	for _, id := range tmpl.ResourcesOfType("AWS::SecretsManager::Secret") {
		if name, ok := locals.Refs[id]; ok {
			l.Refs[id] = g.secretARN(ctx, name)
		}
	}
	policies, err := Policies(g.root, path, tmpl, l)
	if err != nil {
		return nil, err
	}
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	keys := map[string]string{}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, fn := range fns {
		policy, ok := policies[fn.LogicalID]
		if !ok {
			return nil, fmt.Errorf("the SAM translation has no function %s", fn.LogicalID)
		}
		key := AccessKey(stack, fn.LogicalID)
		g.principals[key] = &principal{
			function: fn.LogicalID, policy: policy,
			policyID: key + "#" + hex.EncodeToString(nonce[:]),
			arn:      "arn:aws:sts::" + Account + ":assumed-role/" + stack + "-" + fn.LogicalID + "Role/" + fn.LogicalID,
		}
		keys[fn.LogicalID] = key
	}
	return keys, nil
}

// Seen lists what the guard has decided, sorted.
func (g *Guard) Seen() []Seen {
	g.seenMu.Lock()
	defer g.seenMu.Unlock()
	out := make([]Seen, 0, len(g.seen))
	for s := range g.seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Function != b.Function {
			return a.Function < b.Function
		}
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		return a.Decision < b.Decision
	})
	return out
}

func (g *Guard) record(s Seen) {
	g.seenMu.Lock()
	defer g.seenMu.Unlock()
	if g.seen[s] {
		return
	}
	g.seen[s] = true
	if g.log != nil {
		fmt.Fprintf(g.log, "%s\t%s\t%s\n", s.Function, s.Action, s.Decision)
	}
}

// credential reads the access key id and region of a SigV4 Authorization
// header.
var credential = regexp.MustCompile(`Credential=([^/,\s]+)/[^/]+/([^/]+)/`)

// Authorize implements emulator.Authorizer.
func (g *Guard) Authorize(r *http.Request, body []byte) *emulator.Refusal {
	m := credential.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return nil
	}
	g.mu.RLock()
	p := g.principals[m[1]]
	g.mu.RUnlock()
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	sc := scope{region: m[2], account: Account}
	checks, err := decompose(ctx, g, sc, r, body)
	if err != nil {
		fmt.Fprintf(os.Stderr, "iam: %s: %v\n", p.function, err)
		return refuse(r, p, Check{Action: "unknown", Resource: r.URL.Path}, err.Error())
	}
	for _, c := range checks {
		a, err := g.eval.evaluate(ctx, p.policyID, p.policy, p.arn, c)
		if err != nil {
			a = answer{Decision: Error, Error: err.Error()}
		}
		g.record(Seen{Function: p.function, Action: c.Action, Decision: a.Decision})
		if a.Decision == Allowed {
			continue
		}
		// Said where a developer looks: the function's answer shows only
		// AccessDeniedException, as in AWS.
		ctxJSON, _ := json.Marshal(c.Context)
		if a.Decision == Error {
			fmt.Fprintf(os.Stderr, "iam: %s: %s on %s could not be evaluated: %s (context %s)\n", p.function, c.Action, c.Resource, a.Error, ctxJSON)
		} else {
			fmt.Fprintf(os.Stderr, "iam: %s: %s: %s on %s with %s\n", p.function, a.Decision, c.Action, c.Resource, ctxJSON)
		}
		return refuse(r, p, c, "")
	}
	return nil
}

// refuse answers as AWS answers a call its caller's policy does not allow:
// AccessDeniedException, in the protocol of the service called.
func refuse(r *http.Request, p *principal, c Check, detail string) *emulator.Refusal {
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", p.arn, c.Action, c.Resource, c.Action)
	if detail != "" {
		msg = fmt.Sprintf("User: %s is not authorized to perform this request: %s", p.arn, detail)
	}
	var reqID [16]byte
	_, _ = rand.Read(reqID[:])
	h := http.Header{"X-Amzn-Requestid": {hex.EncodeToString(reqID[:])}}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "DynamoDB_"):
		h.Set("Content-Type", "application/x-amz-json-1.0")
		body, _ := json.Marshal(map[string]string{"__type": "com.amazon.coral.service#AccessDeniedException", "Message": msg})
		return &emulator.Refusal{Status: http.StatusBadRequest, Header: h, Body: body}
	case target != "":
		h.Set("Content-Type", "application/x-amz-json-1.1")
		body, _ := json.Marshal(map[string]string{"__type": "AccessDeniedException", "Message": msg})
		return &emulator.Refusal{Status: http.StatusBadRequest, Header: h, Body: body}
	default:
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Errortype", "AccessDeniedException")
		body, _ := json.Marshal(map[string]string{"message": msg})
		return &emulator.Refusal{Status: http.StatusForbidden, Header: h, Body: body}
	}
}

// --- lookups ----------------------------------------------------------------

func (g *Guard) partitionKeys(ctx context.Context, table string) (string, map[string]string, error) {
	name := table
	if i := strings.LastIndex(table, ":table/"); i >= 0 {
		name = table[i+len(":table/"):]
	}
	if k, ok := g.tables.Load(name); ok {
		tk := k.(tableKeys)
		return tk.table, tk.indexes, nil
	}
	out, err := g.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return "", nil, fmt.Errorf("describe table %s: %w", name, err)
	}
	tk := tableKeys{indexes: map[string]string{}}
	for _, k := range out.Table.KeySchema {
		if k.KeyType == "HASH" {
			tk.table = aws.ToString(k.AttributeName)
		}
	}
	for _, ix := range out.Table.GlobalSecondaryIndexes {
		for _, k := range ix.KeySchema {
			if k.KeyType == "HASH" {
				tk.indexes[aws.ToString(ix.IndexName)] = aws.ToString(k.AttributeName)
			}
		}
	}
	for _, ix := range out.Table.LocalSecondaryIndexes {
		tk.indexes[aws.ToString(ix.IndexName)] = tk.table
	}
	g.tables.Store(name, tk)
	return tk.table, tk.indexes, nil
}

func (g *Guard) secretARN(ctx context.Context, id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	if a, ok := g.secrets.Load(id); ok {
		return a.(string)
	}
	out, err := g.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		// A secret that does not exist: AWS authorises the name's ARN
		// before it finds nothing.
		return "arn:aws:secretsmanager:" + emulator.Region + ":" + Account + ":secret:" + id
	}
	g.secrets.Store(id, aws.ToString(out.ARN))
	return aws.ToString(out.ARN)
}

// sesIdentity is read each time: tests delete and restore identities.
func (g *Guard) sesIdentity(ctx context.Context, address string) string {
	domain := address
	if at := strings.LastIndex(address, "@"); at >= 0 {
		domain = address[at+1:]
	}
	out, err := g.ses.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(address)})
	if err == nil && out != nil {
		return address
	}
	return domain
}
