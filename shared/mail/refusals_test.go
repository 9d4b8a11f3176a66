package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"credportal/shared/mail"
)

// TestRefusals tells SES's refusals of the sending side (nothing is the
// recipient's fault: the message stays due) from a recipient's own permanent
// failure (recorded undeliverable) and from what passes (tried again). The
// wording of the sender refusals is SES's as documented and moto's; which
// refusal real SES gives in the sandbox or with sending paused is not
// verified here (moto models neither), so those rows go by error type.
func TestRefusals(t *testing.T) {
	rejected := func(msg string) error {
		return fmt.Errorf("send: %w", &types.MessageRejected{Message: aws.String(msg)})
	}
	for _, tc := range []struct {
		name          string
		err           error
		notReady      bool
		undeliverable bool
	}{
		{"sender not verified (SES)", rejected("Email address is not verified. The following identities failed the check in region EU-WEST-1: no-reply@portal.example"), true, false},
		{"sandbox, recipient not verified (SES)", rejected("Email address is not verified. The following identities failed the check in region EU-WEST-1: alice@acme.example"), true, false},
		{"sender not verified (moto)", rejected("Email address not verified no-reply@portal.example"), true, false},
		{"raw message, sender not verified (moto)", rejected("Did not have authority to send from email no-reply@portal.example"), true, false},
		{"custom MAIL FROM not verified", &types.MailFromDomainNotVerifiedException{Message: aws.String("Mail-From domain not verified")}, true, false},
		{"sending paused", &types.SendingPausedException{Message: aws.String("Sending is paused for this account.")}, true, false},
		{"account suspended", &types.AccountSuspendedException{Message: aws.String("Account suspended")}, true, false},
		{"configuration set missing", &types.NotFoundException{Message: aws.String("Configuration set <portal> does not exist.")}, true, false},
		{"recipient refused", rejected("Address blacklisted."), false, true},
		{"recipient not an address", &types.BadRequestException{Message: aws.String("Illegal address")}, false, true},
		{"throttled", &types.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}, false, false},
		{"daily quota", &types.LimitExceededException{Message: aws.String("Daily message quota exceeded.")}, false, false},
		{"SES failure", &smithy.GenericAPIError{Code: "InternalFailure", Message: "Internal failure", Fault: smithy.FaultServer}, false, false},
		{"another failure", errors.New("connection reset"), false, false},
		{"none", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mail.SenderNotReady(tc.err); got != tc.notReady {
				t.Errorf("SenderNotReady = %v, want %v", got, tc.notReady)
			}
			if got := mail.Undeliverable(tc.err); got != tc.undeliverable {
				t.Errorf("Undeliverable = %v, want %v", got, tc.undeliverable)
			}
		})
	}
}

// TestReportSenderNotReady: one error-level line says what to do and
// carries the SesNotReady metric in CloudWatch's embedded metric format.
func TestReportSenderNotReady(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	mail.ReportSenderNotReady(context.Background(), log, "no-reply@portal.example", 3, errors.New("MessageRejected: Email address not verified"))
	var line struct {
		Level       string
		Msg         string
		Sender      string
		SesNotReady int
		AWS         struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	m := line.AWS.CloudWatchMetrics
	if line.Level != "ERROR" || line.Sender != "no-reply@portal.example" || line.SesNotReady != 3 || line.AWS.Timestamp == 0 ||
		len(m) != 1 || m[0].Namespace != "CredentialsPortal" || len(m[0].Dimensions) != 1 || m[0].Dimensions[0][0] != "Sender" ||
		len(m[0].Metrics) != 1 || m[0].Metrics[0].Name != "SesNotReady" {
		t.Fatalf("log line: %s", buf.Bytes())
	}
	for _, want := range []string{"verify that identity", "production access", "stay due"} {
		if !bytes.Contains([]byte(line.Msg), []byte(want)) {
			t.Errorf("the message does not say %q: %s", want, line.Msg)
		}
	}
}
