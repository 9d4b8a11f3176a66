package template

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// matches runs CloudFormation's AllowedPattern (a Java regular expression,
// with look-ahead, which Go's RE2 lacks) through Python's re, which reads
// this pattern as Java does, and says which values it takes in full.
func matches(t *testing.T, pattern string, values []string) []bool {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"pattern": pattern, "values": values})
	cmd := exec.Command("python3", "-c", `import json, re, sys
a = json.load(sys.stdin)
print(json.dumps([re.fullmatch(a["pattern"], v) is not None for v in a["values"]]))`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var got []bool
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// The addresses a first deploy needs have no placeholder default, and
// their patterns refuse the reserved domains (RFC 2606) that would deploy a
// portal whose mail goes nowhere.
func TestAddressesRefusePlaceholders(t *testing.T) {
	tmpl, _ := load(t)
	good := []string{"no-reply@registry-operator.eu", "Credentials@Portal.Registry.EU", "ops+alarms@registry.co.uk"}
	bad := []string{"no-reply@portal.example", "x@portal.test", "x@a.invalid", "x@host.localhost", "x@PORTAL.EXAMPLE", "no-at-sign", "a@b", "a b@registry.eu", "ä@registry.eu"}
	for name, required := range map[string]bool{"SenderEmail": true, "FallbackEmail": true, "SupportContact": true, "InitialAdminEmail": false, "AlarmEmail": false} {
		p, ok := tmpl.Parameters[name]
		if !ok {
			t.Errorf("no parameter %s", name)
			continue
		}
		if required && p.Default != nil {
			t.Errorf("%s has the default %v", name, p.Default)
		}
		if !required && p.Default != "" {
			t.Errorf("%s: default %v, want empty", name, p.Default)
		}
		values := append(slices.Clone(good), bad...)
		got := matches(t, p.AllowedPattern, values)
		for i, v := range values {
			if want := i < len(good); got[i] != want {
				t.Errorf("%s's pattern takes %q: %v, want %v", name, v, got[i], want)
			}
		}
		if empty := matches(t, p.AllowedPattern, []string{""})[0]; empty == required {
			t.Errorf("%s takes an empty value: %v", name, empty)
		}
	}
	if got := matches(t, tmpl.Parameters["SupportContact"].AllowedPattern, []string{"https://registry.eu/support", "http://registry.eu/"}); !got[0] || got[1] {
		t.Errorf("SupportContact's URLs: %v", got)
	}
}

// Every alarm notifies someone: AlarmTopicArn, or the topic made for
// AlarmEmail; a rule requires one of them.
func TestEveryAlarmNotifies(t *testing.T) {
	tmpl, root := load(t)
	alarms := tmpl.ResourcesOfType("AWS::CloudWatch::Alarm")
	if len(alarms) < 4 {
		t.Fatalf("alarms %v", alarms)
	}
	want := `[{"Fn::If":["HasAlarmTopicArn",{"Ref":"AlarmTopicArn"},{"Ref":"AlarmTopic"}]}]`
	for _, id := range alarms {
		got, _ := json.Marshal(tmpl.Resources[id].Properties["AlarmActions"])
		if string(got) != want {
			t.Errorf("%s: AlarmActions %s, want %s", id, got, want)
		}
	}
	topic := tmpl.Resources["AlarmTopic"]
	subs, _ := json.Marshal(topic.Properties["Subscription"])
	if topic.Type != "AWS::SNS::Topic" || topic.Condition != "CreateAlarmTopic" || string(subs) != `[{"Endpoint":{"Ref":"AlarmEmail"},"Protocol":"email"}]` {
		t.Errorf("AlarmTopic %+v, subscriptions %s", topic, subs)
	}
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range []string{"AlarmsReachSomeone:", "ExternalIssuerComplete:", "PortalAddressKnown:", "DomainHasCertificate:"} {
		if !strings.Contains(string(raw), "\n  "+rule) {
			t.Errorf("template.yaml has no rule %s", rule)
		}
	}
}

// samconfig.toml pins nothing a reader of the deploy guide cannot see: no
// region, no parameter value.
func TestSamconfigPinsNothing(t *testing.T) {
	_, root := load(t)
	raw, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		key, _, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch strings.TrimSpace(key) {
		case "region", "parameter_overrides", "profile":
			t.Errorf("samconfig.toml pins %s", strings.TrimSpace(line))
		}
	}
}

// Signing in works after a first deploy: the stack's own user pool issues
// only verified emails (and the functions take its tokens so), mails
// through the portal's SES identity, and the first admin is made by a
// custom resource only with that pool; an external issuer names its groups
// claim.
func TestFirstSignIn(t *testing.T) {
	tmpl, _ := load(t)
	env := asMap(tmpl.Globals["Environment"])["Variables"]
	vars := asMap(env)
	verifies, _ := json.Marshal(vars["ISSUER_VERIFIES_EMAIL"])
	if string(verifies) != `{"Fn::If":["CreateUserPool","true",{"Ref":"AuthIssuerVerifiesEmail"}]}` {
		t.Errorf("ISSUER_VERIFIES_EMAIL %s", verifies)
	}
	if groups, _ := json.Marshal(vars["GROUPS_CLAIM"]); string(groups) != `{"Ref":"GroupsClaim"}` || tmpl.Parameters["GroupsClaim"].Default != "cognito:groups" {
		t.Errorf("GROUPS_CLAIM %s, default %v", groups, tmpl.Parameters["GroupsClaim"].Default)
	}
	pool := tmpl.Resources["UserPool"].Properties
	mailCfg := asMap(pool["EmailConfiguration"])
	if mailCfg["EmailSendingAccount"] != "DEVELOPER" || mailCfg["SourceArn"] == nil || mailCfg["From"] == nil {
		t.Errorf("the user pool mails through %v", mailCfg)
	}
	invite, _ := json.Marshal(asMap(pool["AdminCreateUserConfig"])["InviteMessageTemplate"])
	for _, want := range []string{"{username}", "{####}", "SupportContact"} {
		if !strings.Contains(string(invite), want) {
			t.Errorf("the invitation lacks %s: %s", want, invite)
		}
	}
	admin := tmpl.Resources["InitialAdmin"]
	props, _ := json.Marshal(admin.Properties)
	if admin.Type != "Custom::InitialAdmin" || admin.Condition != "CreateInitialAdmin" ||
		!strings.Contains(string(props), `"Email":{"Ref":"InitialAdminEmail"}`) || !strings.Contains(string(props), `"Group":{"Ref":"AdminGroup"}`) {
		t.Errorf("InitialAdmin %+v %s", admin, props)
	}
	if fn := tmpl.Resources["InitialAdminFunction"]; fn.Condition != "CreateInitialAdmin" {
		t.Errorf("InitialAdminFunction's condition %q", fn.Condition)
	}
	cond, _ := json.Marshal(tmpl.Conditions["CreateInitialAdmin"])
	if string(cond) != `{"Fn::And":[{"Condition":"CreateUserPool"},{"Fn::Not":[{"Fn::Equals":[{"Ref":"InitialAdminEmail"},""]}]}]}` {
		t.Errorf("CreateInitialAdmin %s", cond)
	}
	for _, fn := range []string{"AdminFunction", "SendNoticesFunction"} {
		got, _ := json.Marshal(asMap(tmpl.Resources[fn].Properties["Environment"])["Variables"])
		if !strings.Contains(string(got), `"USER_POOL_ID":{"Fn::If":["CreateUserPool",{"Ref":"UserPool"},""]}`) {
			t.Errorf("%s's environment %s", fn, got)
		}
	}
}
