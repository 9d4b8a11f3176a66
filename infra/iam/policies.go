// Package iam makes the AWS emulator as strict as AWS: every call a function
// makes is evaluated against that function's own IAM policy from
// template.yaml, expanded by the SAM translator as `sam deploy` expands it,
// by a real IAM policy evaluator (@cloud-copilot/iam-simulate, run unmodified
// as a separate Node process), with the request's condition keys filled in
// as AWS documents them. A call the policy does not allow fails as AWS fails
// it, with AccessDeniedException.
//
// Each function calls the emulator with an access key id of its own
// (Register gives it); calls signed with any other key (the tests' and the
// provisioning's own, "testing") are served unchecked, as an administrator's
// would be.
package iam

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"

	"credportal/infra/template"
)

// Policy is an IAM policy document, as JSON would hold it.
type Policy map[string]any

// managed holds the AWS managed policies SAM attaches to the functions'
// roles that bear on the emulated services; the rest (logs, X-Ray) name no
// call a function makes to DynamoDB, Secrets Manager or SES.
var managed = map[string][]any{
	// The stream reads Lambda's event source mapping makes for a function
	// with a DynamoDB event.
	"arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": {
		map[string]any{
			"Effect":   "Allow",
			"Action":   []any{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"},
			"Resource": "*",
		},
	},
}

// translation caches the SAM translator's output per template, for the
// process; translated caches it across processes in the repository's
// .local/ folder.
var translation struct {
	mu   sync.Mutex
	byID map[string]map[string]any
}

// Translate returns the SAM template at path as the SAM translator makes it
// into CloudFormation; root is the repository's root. The translator
// (Python, shipped with cfn-lint) takes a few seconds, so its output is kept
// in .local/iam/ under the hash of the template and the script.
func Translate(root, path string) (map[string]any, error) {
	tmpl, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, "infra", "iam", "samtranslate.py")
	code, err := os.ReadFile(script)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append(append([]byte{}, tmpl...), code...))
	id := hex.EncodeToString(sum[:8])

	translation.mu.Lock()
	defer translation.mu.Unlock()
	if out, ok := translation.byID[id]; ok {
		return out, nil
	}
	cache := filepath.Join(root, ".local", "iam", "sam-"+id+".json")
	raw, err := os.ReadFile(cache)
	if err != nil {
		python, lookErr := exec.LookPath("python3")
		if lookErr != nil {
			return nil, errors.New("python3 not found: the SAM translator (pip install cfn-lint) expands the functions' policies")
		}
		cmd := exec.Command(python, script, path)
		cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if raw, err = cmd.Output(); err != nil {
			return nil, fmt.Errorf("SAM translator (make deps installs it with cfn-lint): %w: %s", err, stderr.Bytes())
		}
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err == nil {
			tmp := cache + ".tmp" + id + fmt.Sprint(os.Getpid())
			if os.WriteFile(tmp, raw, 0o644) == nil {
				_ = os.Rename(tmp, cache)
			}
		}
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("SAM translator output: %w", err)
	}
	if translation.byID == nil {
		translation.byID = map[string]map[string]any{}
	}
	translation.byID[id] = out
	return out, nil
}

// Policies returns each function's identity policy, by logical id, for the
// SAM template at path (tmpl is the same, parsed): the inline policies of the
// execution role the SAM translator gives it, and the managed policies
// above, with references resolved by l (l.Refs of a secret must be its ARN,
// as !Ref of a secret is in AWS).
func Policies(root, path string, tmpl *template.Template, l template.Locals) (map[string]Policy, error) {
	translated, err := Translate(root, path)
	if err != nil {
		return nil, err
	}
	resources, _ := translated["Resources"].(map[string]any)
	out := map[string]Policy{}
	for id, r := range resources {
		res, _ := r.(map[string]any)
		if res["Type"] != "AWS::Lambda::Function" {
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		role := roleID(props["Role"])
		if role == "" {
			return nil, fmt.Errorf("function %s: its role is not one of the template's", id)
		}
		roleRes, _ := resources[role].(map[string]any)
		roleProps, _ := roleRes["Properties"].(map[string]any)
		var statements []any
		// A policy under a condition (Fn::If … AWS::NoValue) is there or
		// not as the stack's parameters say.
		inline, err := tmpl.ResolveAll(roleProps["Policies"], l)
		if err != nil {
			return nil, fmt.Errorf("function %s: policies: %w", id, err)
		}
		list, _ := inline.([]any)
		for _, p := range list {
			// Resolved with the list above.
			doc, _ := p.(map[string]any)["PolicyDocument"].(map[string]any)
			switch st := doc["Statement"].(type) {
			case []any:
				statements = append(statements, st...)
			case map[string]any:
				statements = append(statements, st)
			}
		}
		arns, _ := roleProps["ManagedPolicyArns"].([]any)
		names := make([]string, 0, len(arns))
		for _, a := range arns {
			if s, ok := a.(string); ok {
				names = append(names, s)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			statements = append(statements, managed[n]...)
		}
		out[id] = Policy{"Version": "2012-10-17", "Statement": statements}
	}
	return out, nil
}

func roleID(v any) string {
	m, _ := v.(map[string]any)
	att, _ := m["Fn::GetAtt"].([]any)
	if len(att) != 2 || att[1] != "Arn" {
		return ""
	}
	s, _ := att[0].(string)
	return s
}
