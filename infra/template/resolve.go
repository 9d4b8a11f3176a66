package template

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Locals gives the values intrinsic functions resolve to outside AWS.
type Locals struct {
	// Refs maps a resource's logical id to what !Ref gives (a table name, a
	// secret id).
	Refs map[string]string
	// Attrs maps "LogicalId.Attribute" to what !GetAtt gives.
	Attrs map[string]string
	// Params overrides parameter defaults.
	Params map[string]string
	// Pseudo gives AWS::Region and the like.
	Pseudo map[string]string
}

// Resolve evaluates v's intrinsic functions to a string.
func (t *Template) Resolve(v any, l Locals) (string, error) {
	out, err := t.resolve(v, l)
	if err != nil {
		return "", err
	}
	switch o := out.(type) {
	case string:
		return o, nil
	case nil:
		return "", nil
	default:
		return fmt.Sprint(o), nil
	}
}

func (t *Template) resolve(v any, l Locals) (any, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return v, nil
	}
	for fn, arg := range m {
		switch fn {
		case "Ref":
			return t.ref(asString(arg), l)
		case "Fn::GetAtt":
			parts, _ := arg.([]any)
			if len(parts) != 2 {
				return nil, fmt.Errorf("bad GetAtt %v", arg)
			}
			key := asString(parts[0]) + "." + asString(parts[1])
			if s, ok := l.Attrs[key]; ok {
				return s, nil
			}
			return nil, fmt.Errorf("no local value for GetAtt %s", key)
		case "Fn::Sub":
			return t.sub(arg, l)
		case "Fn::Join":
			parts, _ := arg.([]any)
			if len(parts) != 2 {
				return nil, fmt.Errorf("bad Join %v", arg)
			}
			items, _ := parts[1].([]any)
			var ss []string
			for _, it := range items {
				s, err := t.Resolve(it, l)
				if err != nil {
					return nil, err
				}
				ss = append(ss, s)
			}
			return strings.Join(ss, asString(parts[0])), nil
		case "Fn::Select":
			parts, _ := arg.([]any)
			if len(parts) != 2 {
				return nil, fmt.Errorf("bad Select %v", arg)
			}
			idx, err := t.Resolve(parts[0], l)
			if err != nil {
				return nil, err
			}
			list, err := t.resolve(parts[1], l)
			if err != nil {
				return nil, err
			}
			items, _ := list.([]any)
			i, err := strconv.Atoi(idx)
			if err != nil || i < 0 || i >= len(items) {
				return nil, fmt.Errorf("Select %s out of %d items", idx, len(items))
			}
			return t.resolve(items[i], l)
		case "Fn::Split":
			parts, _ := arg.([]any)
			if len(parts) != 2 {
				return nil, fmt.Errorf("bad Split %v", arg)
			}
			whole, err := t.Resolve(parts[1], l)
			if err != nil {
				return nil, err
			}
			return toAny(strings.Split(whole, asString(parts[0]))), nil
		case "Fn::If":
			parts, _ := arg.([]any)
			if len(parts) != 3 {
				return nil, fmt.Errorf("bad If %v", arg)
			}
			holds, err := t.Condition(asString(parts[0]), l)
			if err != nil {
				return nil, err
			}
			if holds {
				return t.resolve(parts[1], l)
			}
			return t.resolve(parts[2], l)
		}
	}
	return v, nil
}

// ResolveAll evaluates every intrinsic function inside v (a value of a
// resource's properties, or of a translated template's), keeping its shape:
// a policy document comes back as the JSON policy AWS would hold.
func (t *Template) ResolveAll(v any, l Locals) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				if k == "Fn::If" {
					// Either branch may be any value (a policy, a list).
					parts, _ := x[k].([]any)
					if len(parts) != 3 {
						return nil, fmt.Errorf("bad If %v", x[k])
					}
					holds, err := t.Condition(asString(parts[0]), l)
					if err != nil {
						return nil, err
					}
					if holds {
						return t.ResolveAll(parts[1], l)
					}
					return t.ResolveAll(parts[2], l)
				}
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					out, err := t.resolve(x, l)
					if err != nil {
						return nil, err
					}
					if _, same := out.(map[string]any); same {
						return nil, fmt.Errorf("unsupported intrinsic %s", k)
					}
					if out == NoValue {
						return NoValue, nil
					}
					return t.ResolveAll(out, l)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := t.ResolveAll(e, l)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if r != NoValue {
				out[k] = r
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := t.ResolveAll(e, l)
			if err != nil {
				return nil, err
			}
			if r != NoValue {
				out = append(out, r)
			}
		}
		return out, nil
	}
	return v, nil
}

// NoValue is what !Ref AWS::NoValue resolves to: ResolveAll drops it from
// the list or mapping that holds it, as CloudFormation does.
var NoValue = noValue{}

type noValue struct{}

func (noValue) String() string { return "" }

func (t *Template) ref(name string, l Locals) (any, error) {
	if name == "AWS::NoValue" {
		return NoValue, nil
	}
	if s, ok := l.Params[name]; ok {
		return s, nil
	}
	if p, ok := t.Parameters[name]; ok {
		if p.Default == nil {
			return "", nil
		}
		return fmt.Sprint(p.Default), nil
	}
	if s, ok := l.Refs[name]; ok {
		return s, nil
	}
	if s, ok := l.Pseudo[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("no local value for Ref %s", name)
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

func (t *Template) sub(arg any, l Locals) (any, error) {
	format := asString(arg)
	vars := map[string]any{}
	if list, ok := arg.([]any); ok && len(list) == 2 {
		format = asString(list[0])
		vars = asMap(list[1])
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		var (
			v   any
			err error
		)
		switch {
		case vars[name] != nil:
			v, err = t.resolve(vars[name], l)
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			parts := strings.SplitN(name, ".", 2)
			v, err = t.resolve(map[string]any{"Fn::GetAtt": []any{parts[0], parts[1]}}, l)
		default:
			v, err = t.ref(name, l)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return fmt.Sprint(v)
	})
	return out, firstErr
}
