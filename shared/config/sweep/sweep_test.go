package sweep

import (
	"credportal/shared/config"
	"strings"
	"testing"
	"time"
)

func TestLoadSweep(t *testing.T) {
	e, err := Load(env(map[string]string{
		"TABLE_NAME": "t", "SENDER_EMAIL": "no-reply@portal.example", "PORTAL_URL": "https://portal.example/",
		"FALLBACK_EMAIL": "ops@portal.example", "REMINDER_THRESHOLDS": "7, 30,0", "SES_MAX_SEND_RATE": "14",
	}))
	if err != nil {
		t.Fatal(err)
	}
	r := e.Reminder
	if e.TableName != "t" || e.Mail.Sender != "no-reply@portal.example" || r.Fallback != "ops@portal.example" ||
		r.PortalURL != "https://portal.example/" || r.MaxSendRate != 14 || len(r.Thresholds) != 3 || r.Thresholds[0] != 30 ||
		r.Lease != 20*time.Minute {
		t.Fatalf("env = %+v", e)
	}
	d, err := Load(env(map[string]string{"TABLE_NAME": "t", "SENDER_EMAIL": "a@b.example"}))
	if err != nil || len(d.Reminder.Thresholds) != 6 || d.Reminder.MaxSendRate != 10 || d.Reminder.Fallback != "" {
		t.Fatalf("defaults = %+v, %v", d, err)
	}
	_, err = Load(env(map[string]string{
		"SENDER_EMAIL": "nobody", "FALLBACK_EMAIL": "x", "REMINDER_THRESHOLDS": "7,seven", "SES_MAX_SEND_RATE": "-1",
	}))
	for _, want := range []string{"TABLE_NAME", "SENDER_EMAIL", "FALLBACK_EMAIL", "REMINDER_THRESHOLDS", "SES_MAX_SEND_RATE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if _, err := config.LoadMail(env(map[string]string{})); err == nil || !strings.Contains(err.Error(), "SENDER_EMAIL") {
		t.Errorf("LoadMail without a sender: %v", err)
	}
}

func env(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }
