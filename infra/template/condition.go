package template

import (
	"fmt"
	"strings"
)

// Condition evaluates the template's condition name with the local
// parameters. Only what the parameters decide can be evaluated: Fn::Equals
// over parameters, pseudo parameters and literals, combined with Fn::Not,
// Fn::And, Fn::Or and other conditions. Anything else is an error, never a
// guess.
func (t *Template) Condition(name string, l Locals) (bool, error) {
	return t.condition(name, l, map[string]bool{})
}

// Exists reports whether the resource logicalID is created with the local
// parameters: it has no condition, or its condition holds.
func (t *Template) Exists(logicalID string, l Locals) (bool, error) {
	r, ok := t.Resources[logicalID]
	if !ok {
		return false, fmt.Errorf("template has no resource %s", logicalID)
	}
	if r.Condition == "" {
		return true, nil
	}
	holds, err := t.Condition(r.Condition, l)
	if err != nil {
		return false, fmt.Errorf("resource %s: %w", logicalID, err)
	}
	return holds, nil
}

func (t *Template) condition(name string, l Locals, evaluating map[string]bool) (bool, error) {
	expr, ok := t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("template has no condition %s", name)
	}
	if evaluating[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	evaluating[name] = true
	defer delete(evaluating, name)
	holds, err := t.evaluate(expr, l, evaluating)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	return holds, nil
}

func (t *Template) evaluate(expr any, l Locals, evaluating map[string]bool) (bool, error) {
	fn, arg, ok := single(expr)
	if !ok {
		return false, fmt.Errorf("cannot evaluate %v locally", expr)
	}
	args, _ := arg.([]any)
	switch fn {
	case "Condition":
		return t.condition(asString(arg), l, evaluating)
	case "Fn::Equals":
		if len(args) != 2 {
			return false, fmt.Errorf("Fn::Equals takes two values, not %v", arg)
		}
		a, err := t.operand(args[0], l)
		if err != nil {
			return false, err
		}
		b, err := t.operand(args[1], l)
		if err != nil {
			return false, err
		}
		return a == b, nil
	case "Fn::Not":
		if len(args) != 1 {
			return false, fmt.Errorf("Fn::Not takes one condition, not %v", arg)
		}
		holds, err := t.evaluate(args[0], l, evaluating)
		return !holds, err
	case "Fn::And", "Fn::Or":
		if len(args) < 2 {
			return false, fmt.Errorf("%s takes at least two conditions, not %v", fn, arg)
		}
		all, some := true, false
		for _, a := range args {
			holds, err := t.evaluate(a, l, evaluating)
			if err != nil {
				return false, err
			}
			all, some = all && holds, some || holds
		}
		if fn == "Fn::And" {
			return all, nil
		}
		return some, nil
	}
	return false, fmt.Errorf("cannot evaluate %s locally", fn)
}

// single splits an intrinsic function {"Fn::X": arg} into its name and
// argument.
func single(v any) (string, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for fn, arg := range m {
		return fn, arg, true
	}
	return "", nil, false
}

// operand is a value Fn::Equals compares: a literal, or a Ref to a parameter
// or a pseudo parameter.
func (t *Template) operand(v any, l Locals) (string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return "", nil
		}
		return fmt.Sprint(v), nil
	}
	name, isRef := m["Ref"].(string)
	if !isRef || len(m) != 1 {
		return "", fmt.Errorf("cannot evaluate %v locally: only parameters and literals are compared", v)
	}
	_, param := t.Parameters[name]
	_, pseudo := l.Pseudo[name]
	if !param && !pseudo && !strings.HasPrefix(name, "AWS::") {
		return "", fmt.Errorf("cannot evaluate Ref %s locally: it is not a parameter", name)
	}
	s, err := t.ref(name, l)
	if err != nil {
		return "", err
	}
	return fmt.Sprint(s), nil
}
