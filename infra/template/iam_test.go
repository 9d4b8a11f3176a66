package template

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// statement is one statement of a function's IAM policies, as the template
// writes it. A SAM policy template (DynamoDBReadPolicy, …) is a statement
// whose one action is "sam:<name>".
type statement struct {
	actions   []string
	condition map[string]map[string][]string // operator → key → values
	raw       string
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// statements lists the IAM statements of a function.
func statements(tmpl *Template, logicalID string) []statement {
	var out []statement
	policies, _ := tmpl.Resources[logicalID].Properties["Policies"].([]any)
	for _, p := range policies {
		pm := asMap(p)
		list, ok := pm["Statement"].([]any)
		if !ok {
			for name := range pm {
				raw, _ := json.Marshal(pm)
				out = append(out, statement{actions: []string{"sam:" + name}, raw: string(raw)})
			}
			continue
		}
		for _, st := range list {
			sm := asMap(st)
			raw, _ := json.Marshal(sm)
			s := statement{actions: strs(sm["Action"]), condition: map[string]map[string][]string{}, raw: string(raw)}
			for op, keys := range asMap(sm["Condition"]) {
				s.condition[op] = map[string][]string{}
				for k, v := range asMap(keys) {
					s.condition[op][k] = strs(v)
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// writes lists the actions of s that change data or send mail.
func (s statement) writes() []string {
	var out []string
	for _, a := range s.actions {
		switch {
		case a == "*", strings.HasSuffix(a, ":*"),
			strings.HasPrefix(a, "dynamodb:") && (strings.Contains(a, "Put") || strings.Contains(a, "Update") ||
				strings.Contains(a, "Delete") || strings.Contains(a, "Write") || strings.HasPrefix(a, "dynamodb:PartiQL")),
			strings.HasPrefix(a, "secretsmanager:") && !strings.HasPrefix(a, "secretsmanager:Get") && !strings.HasPrefix(a, "secretsmanager:Describe"),
			strings.HasPrefix(a, "ses:Send"),
			strings.HasPrefix(a, "sam:") && !strings.HasSuffix(a, "ReadPolicy"):
			out = append(out, a)
		}
	}
	return out
}

// writeRule is a write a function may make: one DynamoDB action, on items
// whose partition key matches one of leadingKeys, naming only attributes
// (with the key attributes; a pattern with * matches a family of names; nil
// for a deletion), returning at most returnValues (NONE when empty).
type writeRule struct {
	action       string
	leadingKeys  []string
	attributes   []string
	returnValues []string
}

// bindDesignation is the one write of the functions that otherwise only
// read: the first use of a designation binds it to the caller's identity.
var bindDesignation = writeRule{"dynamodb:UpdateItem", []string{"APP#*"}, []string{"PK", "SK", "BoundIssuer", "BoundSubject", "BoundAt"}, nil}

// narrowWriters are the functions whose writes are narrowed to the
// attributes they write, with those writes (and, in others, the writes that
// are not DynamoDB items they make).
var narrowWriters = map[string]struct {
	rules  []writeRule
	others []string
}{
	// The internet-facing token endpoint: a secret's or key's LastUsedAt, a
	// client item's Used#, KeyUsed# and FederatedUsed# entries (never a Secret# or Key#
	// entry, which would let it plant a credential), an accepted
	// assertion's jti, its failure counters and lockouts, a lockout's audit
	// event, and a signing key of its own making.
	"TokenFunction": {rules: []writeRule{
		{"dynamodb:UpdateItem", []string{"APP#*"}, []string{"PK", "SK", "LastUsedAt"}, nil},
		{"dynamodb:UpdateItem", []string{"CLIENT#*"}, []string{"PK", "SK", "Used#*", "KeyUsed#*", "FederatedUsed#*"}, nil},
		{"dynamodb:UpdateItem", []string{"THROTTLE#*"}, []string{"PK", "SK", "Failures", "TTL", "LockedUntil"}, []string{"NONE", "UPDATED_NEW"}},
		{"dynamodb:PutItem", []string{"AUDIT#*"}, []string{"PK", "SK", "Type", "TTL", "ID", "At", "Actor", "Action", "AppID", "SecretID", "SecretName", "Hint", "SourceIP", "UserAgent", "RequestID", "Details"}, nil},
		{"dynamodb:PutItem", []string{"JTI#*"}, []string{"PK", "SK", "Type", "TTL"}, nil},
	}, others: []string{"secretsmanager:PutSecretValue"}},
	// The sweep: its reminder claims, and a secret's or key's record of the
	// thresholds done.
	"ExpirySweepFunction": {rules: []writeRule{
		{"dynamodb:PutItem", []string{"REMINDER#*"}, []string{"PK", "SK", "Type", "Status", "Token", "ClaimedAt", "LeaseUntil", "AppID", "SecretID", "KeyID", "Threshold", "Recipient", "TTL"}, nil},
		{"dynamodb:UpdateItem", []string{"REMINDER#*"}, []string{"PK", "SK", "Status", "Token", "SentAt", "MessageID", "Reason", "LeaseUntil"}, nil},
		{"dynamodb:UpdateItem", []string{"APP#*"}, []string{"PK", "SK", "Reminded", "RemindedTo"}, nil},
	}, others: []string{"ses:SendEmail"}},
	// The notice sender: its claims, one per (notice, recipient), and the
	// removal of a delivered notice from the outbox.
	"SendNoticesFunction": {rules: []writeRule{
		{"dynamodb:PutItem", []string{"OUTBOX#*"}, []string{"PK", "SK", "Type", "Status", "Token", "ClaimedAt", "LeaseUntil", "Recipient", "TTL"}, nil},
		{"dynamodb:UpdateItem", []string{"OUTBOX#*"}, []string{"PK", "SK", "Status", "Token", "SentAt", "MessageID", "Reason", "LeaseUntil"}, nil},
		{"dynamodb:DeleteItem", []string{"OUTBOX"}, nil, nil},
	}, others: []string{"ses:SendEmail"}},
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// grants reports why s is not exactly r: r's one action, its partition keys,
// its attributes and its return values, and no other condition.
func (r writeRule) grants(s statement) error {
	if !sameSet(s.actions, []string{r.action}) {
		return fmt.Errorf("actions %v, want only %s", s.actions, r.action)
	}
	returns := r.returnValues
	if len(returns) == 0 {
		returns = []string{"NONE"}
	}
	want := map[string]map[string][]string{
		"ForAllValues:StringLike": {"dynamodb:LeadingKeys": r.leadingKeys},
		"StringEqualsIfExists":    {"dynamodb:ReturnValues": returns},
	}
	switch {
	case r.attributes == nil:
		// A deletion names no attribute.
	case slices.ContainsFunc(r.attributes, func(a string) bool { return strings.Contains(a, "*") }):
		want["ForAllValues:StringLike"]["dynamodb:Attributes"] = r.attributes
	default:
		want["ForAllValues:StringEquals"] = map[string][]string{"dynamodb:Attributes": r.attributes}
	}
	if len(s.condition) != len(want) {
		return fmt.Errorf("conditions %v, want %v", s.condition, want)
	}
	for op, keys := range want {
		got := s.condition[op]
		if len(got) != len(keys) {
			return fmt.Errorf("condition %s %v, want %v", op, got, keys)
		}
		for k, v := range keys {
			if !sameSet(got[k], v) {
				return fmt.Errorf("condition %s %s = %v, want %v", op, k, got[k], v)
			}
		}
	}
	return nil
}

// checkWrites checks that every write statement of a function is one of
// rules, and that each rule is granted.
func checkWrites(t *testing.T, tmpl *Template, f Function, rules []writeRule, others ...string) {
	t.Helper()
	granted := make([]bool, len(rules))
	for _, s := range statements(tmpl, f.LogicalID) {
		writes := s.writes()
		if len(writes) == 0 {
			continue
		}
		if !slices.ContainsFunc(writes, func(w string) bool {
			return strings.HasPrefix(w, "dynamodb:") || strings.HasPrefix(w, "sam:") || w == "*"
		}) &&
			!slices.ContainsFunc(writes, func(w string) bool { return !slices.Contains(others, w) }) {
			continue // a write that is not a DynamoDB item's, and one the function makes
		}
		var reasons []string
		ok := false
		for i, r := range rules {
			err := r.grants(s)
			if err == nil {
				granted[i], ok = true, true
				break
			}
			reasons = append(reasons, err.Error())
		}
		if !ok {
			t.Errorf("%s may %v beyond what it writes: %s (%s)", f.LogicalID, s.writes(), s.raw, strings.Join(reasons, "; "))
		}
	}
	for i, r := range rules {
		if !granted[i] {
			t.Errorf("%s lacks the narrow %s it needs on %v of %v", f.LogicalID, r.action, r.leadingKeys, r.attributes)
		}
	}
}

// The functions that only read serve no route that changes anything, and
// get no write action but the one that binds a designation to its first
// user, narrowed to the binding's attributes.
func TestReadOnlyFunctionsCannotWrite(t *testing.T) {
	tmpl, _ := load(t)
	checked := 0
	for _, f := range tmpl.Functions() {
		if !slices.Contains(readOnly, f.LogicalID) {
			continue
		}
		checked++
		var rules []writeRule
		for _, r := range f.Routes {
			if r.Method != "GET" {
				t.Errorf("%s is read-only but serves %s %s", f.LogicalID, r.Method, r.Path)
			}
			if strings.HasPrefix(r.Path, "/v1/") {
				rules = []writeRule{bindDesignation}
			}
		}
		checkWrites(t, tmpl, f, rules)
	}
	if checked != len(readOnly) {
		t.Errorf("%d of the %d read-only functions are in template.yaml", checked, len(readOnly))
	}
}

// The token endpoint and the sweep may write only the attributes they
// write, in the partitions they write them: neither could plant a
// designation, a secret or a credential.
func TestWritersAreNarrow(t *testing.T) {
	tmpl, _ := load(t)
	found := 0
	for _, f := range tmpl.Functions() {
		w, ok := narrowWriters[f.LogicalID]
		if !ok {
			continue
		}
		found++
		checkWrites(t, tmpl, f, w.rules, w.others...)
	}
	if found != len(narrowWriters) {
		t.Fatalf("%d of the %d narrow writers are in template.yaml", found, len(narrowWriters))
	}
}

// The checks see what they are meant to see.
func TestWriteRuleChecks(t *testing.T) {
	good := statement{actions: []string{"dynamodb:UpdateItem"}, condition: map[string]map[string][]string{
		"ForAllValues:StringLike":   {"dynamodb:LeadingKeys": {"APP#*"}},
		"ForAllValues:StringEquals": {"dynamodb:Attributes": {"SK", "PK", "BoundAt", "BoundSubject", "BoundIssuer"}},
		"StringEqualsIfExists":      {"dynamodb:ReturnValues": {"NONE"}},
	}}
	if err := bindDesignation.grants(good); err != nil {
		t.Fatal(err)
	}
	pattern := writeRule{"dynamodb:UpdateItem", []string{"CLIENT#*"}, []string{"PK", "SK", "Used#*"}, nil}
	if err := pattern.grants(statement{actions: []string{"dynamodb:UpdateItem"}, condition: map[string]map[string][]string{
		"ForAllValues:StringLike": {"dynamodb:LeadingKeys": {"CLIENT#*"}, "dynamodb:Attributes": {"PK", "SK", "Used#*"}},
		"StringEqualsIfExists":    {"dynamodb:ReturnValues": {"NONE"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if pattern.grants(statement{actions: []string{"dynamodb:UpdateItem"}, condition: map[string]map[string][]string{
		"ForAllValues:StringLike": {"dynamodb:LeadingKeys": {"CLIENT#*"}, "dynamodb:Attributes": {"PK", "SK", "Used#*", "Secret#*"}},
		"StringEqualsIfExists":    {"dynamodb:ReturnValues": {"NONE"}},
	}}) == nil {
		t.Error("a statement allowing Secret# entries passed")
	}
	wider := []statement{
		{actions: []string{"dynamodb:UpdateItem", "dynamodb:PutItem"}, condition: good.condition},
		{actions: []string{"dynamodb:UpdateItem"}, condition: map[string]map[string][]string{
			"ForAllValues:StringLike":   {"dynamodb:LeadingKeys": {"APP#*", "AUDIT#*"}},
			"ForAllValues:StringEquals": good.condition["ForAllValues:StringEquals"],
			"StringEqualsIfExists":      good.condition["StringEqualsIfExists"],
		}},
		{actions: []string{"dynamodb:UpdateItem"}, condition: map[string]map[string][]string{
			"ForAllValues:StringLike":   good.condition["ForAllValues:StringLike"],
			"ForAllValues:StringEquals": {"dynamodb:Attributes": {"PK", "SK", "BoundIssuer", "BoundSubject", "BoundAt", "Role"}},
			"StringEqualsIfExists":      good.condition["StringEqualsIfExists"],
		}},
		{actions: []string{"dynamodb:UpdateItem"}, condition: map[string]map[string][]string{
			"ForAllValues:StringLike": good.condition["ForAllValues:StringLike"],
			"StringEqualsIfExists":    good.condition["StringEqualsIfExists"],
		}},
	}
	for _, s := range wider {
		if bindDesignation.grants(s) == nil {
			t.Errorf("a wider statement passed: %+v", s)
		}
	}
	for _, a := range []string{"dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:TransactWriteItems", "dynamodb:*", "dynamodb:PartiQLUpdate", "secretsmanager:PutSecretValue", "ses:SendEmail", "sam:DynamoDBCrudPolicy"} {
		if len((statement{actions: []string{a}}).writes()) != 1 {
			t.Errorf("%s is not seen as a write", a)
		}
	}
	for _, a := range []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "secretsmanager:GetSecretValue", "sam:DynamoDBReadPolicy"} {
		if len((statement{actions: []string{a}}).writes()) != 0 {
			t.Errorf("%s is seen as a write", a)
		}
	}
}
