// Package template reads template.yaml, the single description of the
// portal's routes, functions and resources, so that the local stack and the
// tests build what AWS would from the same definitions.
package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed SAM template. Intrinsic functions in short form
// (!Ref, !Sub, …) are turned into their long form ({"Ref": …}).
type Template struct {
	Parameters map[string]Parameter
	// Conditions holds each condition's expression, unevaluated.
	Conditions map[string]any
	Resources  map[string]Resource
	Globals    map[string]any
}

// Parameter is a template parameter; only its default matters locally.
type Parameter struct {
	Type           string
	Default        any
	AllowedValues  []any
	AllowedPattern string
}

// Resource is one resource of the template.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
	Condition  string
	// DeletionPolicy and UpdateReplacePolicy are "Retain" where the
	// resource outlives the stack.
	DeletionPolicy, UpdateReplacePolicy string
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	root, ok := value(&doc).(map[string]any)
	if !ok {
		return nil, errors.New("parse template: top level is not a mapping")
	}
	t := &Template{Parameters: map[string]Parameter{}, Conditions: asMap(root["Conditions"]), Resources: map[string]Resource{}}
	for name, p := range asMap(root["Parameters"]) {
		pm := asMap(p)
		allowed, _ := pm["AllowedValues"].([]any)
		t.Parameters[name] = Parameter{Type: asString(pm["Type"]), Default: pm["Default"], AllowedValues: allowed, AllowedPattern: asString(pm["AllowedPattern"])}
	}
	for name, r := range asMap(root["Resources"]) {
		rm := asMap(r)
		t.Resources[name] = Resource{
			Type: asString(rm["Type"]), Properties: asMap(rm["Properties"]),
			Metadata: asMap(rm["Metadata"]), Condition: asString(rm["Condition"]),
			DeletionPolicy: asString(rm["DeletionPolicy"]), UpdateReplacePolicy: asString(rm["UpdateReplacePolicy"]),
		}
	}
	t.Globals = asMap(asMap(root["Globals"])["Function"])
	return t, nil
}

// RepoRoot finds the repository root (the folder holding go.mod) from the
// working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// LoadRepo loads template.yaml at the repository root.
func LoadRepo() (*Template, string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, "", err
	}
	t, err := Load(filepath.Join(root, "template.yaml"))
	return t, root, err
}

// Route is one HttpApi route of a function.
type Route struct {
	Method string
	Path   string
	// Authorized is true where the JWT authorizer guards the route.
	Authorized bool
}

// Function is a serverless function of the template.
type Function struct {
	LogicalID string
	// Package is the Go package folder, relative to the repository root.
	Package string
	// Architecture is the instruction set it runs on in AWS, as GOARCH
	// names it ("arm64"; the template's x86_64 is "amd64").
	Architecture string
	// Env holds the function's environment, globals merged, unresolved.
	Env     map[string]any
	Timeout int
	Routes  []Route
}

// Functions lists the template's functions, sorted by logical id.
func (t *Template) Functions() []Function {
	var out []Function
	globalEnv := asMap(asMap(t.Globals["Environment"])["Variables"])
	defaultAuth := t.defaultAuthorizer()
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		f := Function{LogicalID: id, Package: strings.TrimSuffix(asString(r.Properties["CodeUri"]), "/"), Env: map[string]any{}}
		for k, v := range globalEnv {
			f.Env[k] = v
		}
		for k, v := range asMap(asMap(r.Properties["Environment"])["Variables"]) {
			f.Env[k] = v
		}
		f.Architecture = goarch(t.Globals["Architectures"])
		if a := r.Properties["Architectures"]; a != nil {
			f.Architecture = goarch(a)
		}
		f.Timeout = asInt(t.Globals["Timeout"])
		if n := asInt(r.Properties["Timeout"]); n > 0 {
			f.Timeout = n
		}
		for _, ev := range asMap(r.Properties["Events"]) {
			em := asMap(ev)
			if asString(em["Type"]) != "HttpApi" {
				continue
			}
			p := asMap(em["Properties"])
			route := Route{Method: strings.ToUpper(asString(p["Method"])), Path: asString(p["Path"]), Authorized: defaultAuth != ""}
			if a := asString(asMap(p["Auth"])["Authorizer"]); a != "" {
				route.Authorized = a != "NONE"
			}
			f.Routes = append(f.Routes, route)
		}
		sort.Slice(f.Routes, func(i, j int) bool { return f.Routes[i].Path+f.Routes[i].Method < f.Routes[j].Path+f.Routes[j].Method })
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out
}

// goarch names a function's architecture (a one-item list; Lambda's
// default is x86_64) as GOARCH does.
func goarch(architectures any) string {
	list, _ := architectures.([]any)
	if len(list) == 1 && list[0] == "arm64" {
		return "arm64"
	}
	return "amd64"
}

func (t *Template) defaultAuthorizer() string {
	for _, r := range t.Resources {
		if r.Type == "AWS::Serverless::HttpApi" {
			return asString(asMap(r.Properties["Auth"])["DefaultAuthorizer"])
		}
	}
	return ""
}

// ResourcesOfType lists the logical ids of the resources of a type, sorted.
func (t *Template) ResourcesOfType(typ string) []string {
	var out []string
	for id, r := range t.Resources {
		if r.Type == typ {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// value converts a YAML node to plain Go values, expanding short-form tags.
func value(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return value(n.Content[0])
	case yaml.AliasNode:
		return value(n.Alias)
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = value(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, value(c))
		}
		v = s
	default:
		var out any
		if err := n.Decode(&out); err != nil || custom(n.Tag) {
			out = n.Value
		}
		v = out
	}
	if !custom(n.Tag) {
		return v
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}
	case "GetAtt":
		if s, ok := v.(string); ok {
			return map[string]any{"Fn::GetAtt": toAny(strings.SplitN(s, ".", 2))}
		}
	}
	return map[string]any{"Fn::" + name: v}
}

// custom reports whether tag is a CloudFormation short form, not a YAML type.
func custom(tag string) bool { return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") }

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}
