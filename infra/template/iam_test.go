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
// (with the key attributes), returning nothing.
type writeRule struct {
	action      string
	leadingKeys []string
	attributes  []string
}

// bindDesignation is the one write of the functions that otherwise only
// read: the first use of a designation binds it to the caller's identity.
var bindDesignation = writeRule{"dynamodb:UpdateItem", []string{"APP#*"}, []string{"PK", "SK", "BoundIssuer", "BoundSubject", "BoundAt"}}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// grants reports why s is not exactly r: r's one action, its partition keys,
// its attributes and ReturnValues NONE, and no other condition.
func (r writeRule) grants(s statement) error {
	if !sameSet(s.actions, []string{r.action}) {
		return fmt.Errorf("actions %v, want only %s", s.actions, r.action)
	}
	want := map[string]map[string][]string{
		"ForAllValues:StringLike":   {"dynamodb:LeadingKeys": r.leadingKeys},
		"ForAllValues:StringEquals": {"dynamodb:Attributes": r.attributes},
		"StringEqualsIfExists":      {"dynamodb:ReturnValues": {"NONE"}},
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
func checkWrites(t *testing.T, tmpl *Template, f Function, rules []writeRule) {
	t.Helper()
	granted := make([]bool, len(rules))
	for _, s := range statements(tmpl, f.LogicalID) {
		if len(s.writes()) == 0 {
			continue
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
