package iam

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"sort"
	"strings"
)

// Check is one authorisation AWS makes for a request: an action on a
// resource, with the request's condition keys. A request may need several
// (a transaction, one per item; a batch, one per table).
type Check struct {
	Action   string         `json:"action"`
	Resource string         `json:"resource"`
	Context  map[string]any `json:"context,omitempty"`
}

// lookups are what decomposing a request needs to know of the emulator's
// resources, as AWS knows them.
type lookups interface {
	// partitionKeys returns the partition key attribute of a table and of
	// each of its indexes (by index name).
	partitionKeys(ctx context.Context, table string) (tableKey string, indexKeys map[string]string, err error)
	secretARN(ctx context.Context, id string) string
	// sesIdentity returns the verified identity an address sends under: the
	// address itself where it is one, else its domain.
	sesIdentity(ctx context.Context, address string) string
}

// scope is the account and region of a request's ARNs.
type scope struct{ region, account string }

func (s scope) arn(service, resource string) string {
	return "arn:aws:" + service + ":" + s.region + ":" + s.account + ":" + resource
}

// Decompose turns one request to the emulator into the checks AWS makes
// for it. The DynamoDB condition keys follow "Using IAM policy conditions
// for fine-grained access control"
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html)
// and the Service Authorization Reference's list of each action's keys
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html);
// where a reading is open, the stricter one is taken, as each function says.
func decompose(ctx context.Context, lk lookups, sc scope, r *http.Request, body []byte) ([]Check, error) {
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "DynamoDB_20120810."):
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("DynamoDB request body: %w", err)
		}
		return dynamoChecks(ctx, lk, sc, strings.TrimPrefix(target, "DynamoDB_20120810."), in)
	case strings.HasPrefix(target, "secretsmanager."):
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("Secrets Manager request body: %w", err)
		}
		return secretsChecks(ctx, lk, sc, strings.TrimPrefix(target, "secretsmanager."), in), nil
	case strings.HasPrefix(target, "AWSCognitoIdentityProviderService."):
		// The user pool's ARN; calls that name no pool (CreateUserPool,
		// ListUserPools) are on "*".
		// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncognitouserpools.html
		var in struct{ UserPoolId string }
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("Cognito request body: %w", err)
		}
		resource := "*"
		if in.UserPoolId != "" {
			resource = sc.arn("cognito-idp", "userpool/"+in.UserPoolId)
		}
		return []Check{{Action: "cognito-idp:" + strings.TrimPrefix(target, "AWSCognitoIdentityProviderService."), Resource: resource}}, nil
	case strings.HasPrefix(r.URL.Path, "/v2/email/"):
		return sesChecks(ctx, lk, sc, r, body)
	}
	return nil, fmt.Errorf("no IAM action known for %s %s (X-Amz-Target %q)", r.Method, r.URL.Path, target)
}

// --- DynamoDB ---------------------------------------------------------------

func dynamoChecks(ctx context.Context, lk lookups, sc scope, op string, in map[string]any) ([]Check, error) {
	tableARN := func(name string) string {
		if strings.HasPrefix(name, "arn:") {
			return name
		}
		return sc.arn("dynamodb", "table/"+name)
	}
	switch op {
	case "GetItem", "PutItem", "UpdateItem", "DeleteItem":
		c, err := itemCheck(ctx, lk, op, in, "")
		if err != nil {
			return nil, err
		}
		c.Resource = tableARN(str(in["TableName"]))
		return []Check{c}, nil
	case "TransactWriteItems", "TransactGetItems":
		// Each item is authorised as its own action, with
		// dynamodb:EnclosingOperation naming the transaction; there is no
		// IAM action of the transaction itself.
		// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
		var out []Check
		for _, raw := range list(in["TransactItems"]) {
			for kind, v := range obj(raw) {
				action := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}[kind]
				if action == "" {
					return nil, fmt.Errorf("%s: unknown item kind %s", op, kind)
				}
				c, err := itemCheck(ctx, lk, action, obj(v), op)
				if err != nil {
					return nil, err
				}
				c.Resource = tableARN(str(obj(v)["TableName"]))
				out = append(out, c)
			}
		}
		return out, nil
	case "Query", "Scan":
		table := str(in["TableName"])
		resource := tableARN(table)
		tableKey, indexKeys, err := lk.partitionKeys(ctx, table)
		if err != nil {
			return nil, err
		}
		pk := tableKey
		if index := str(in["IndexName"]); index != "" {
			resource += "/index/" + index
			pk = indexKeys[index]
		}
		names := strMap(in["ExpressionAttributeNames"])
		attrs := map[string]bool{}
		for _, e := range []string{"KeyConditionExpression", "FilterExpression", "ProjectionExpression"} {
			topLevelNames(attrs, str(in[e]), names)
		}
		for _, a := range list(in["AttributesToGet"]) {
			attrs[str(a)] = true
		}
		for a := range obj(in["KeyConditions"]) {
			attrs[a] = true
		}
		for a := range obj(in["QueryFilter"]) {
			attrs[a] = true
		}
		for a := range obj(in["ScanFilter"]) {
			attrs[a] = true
		}
		ctxKeys := map[string]any{"dynamodb:Select": selectOf(in)}
		if op == "Query" {
			leading := ""
			if v := equalityValue(str(in["KeyConditionExpression"]), pk, names); v != "" {
				leading = scalar(obj(in["ExpressionAttributeValues"])[v])
			} else if cond := obj(obj(in["KeyConditions"])[pk]); cond != nil {
				vals := list(cond["AttributeValueList"])
				if len(vals) > 0 {
					leading = scalar(vals[0])
				}
			}
			if leading == "" {
				return nil, fmt.Errorf("Query on %s: no equality on the partition key %s", resource, pk)
			}
			ctxKeys["dynamodb:LeadingKeys"] = []string{leading}
		}
		if len(attrs) > 0 {
			ctxKeys["dynamodb:Attributes"] = sorted(attrs)
		}
		addCapacity(ctxKeys, in)
		return []Check{{Action: "dynamodb:" + op, Resource: resource, Context: ctxKeys}}, nil
	case "BatchGetItem", "BatchWriteItem":
		// One check per table, with the partition keys and attributes of all
		// its items.
		requests := obj(in["RequestItems"])
		tables := make([]string, 0, len(requests))
		for t := range requests {
			tables = append(tables, t)
		}
		sort.Strings(tables)
		var out []Check
		for _, table := range tables {
			tableKey, _, err := lk.partitionKeys(ctx, table)
			if err != nil {
				return nil, err
			}
			leading := map[string]bool{}
			attrs := map[string]bool{}
			var keys []map[string]any
			if op == "BatchGetItem" {
				spec := obj(requests[table])
				for _, k := range list(spec["Keys"]) {
					keys = append(keys, obj(k))
				}
				topLevelNames(attrs, str(spec["ProjectionExpression"]), strMap(spec["ExpressionAttributeNames"]))
				for _, a := range list(spec["AttributesToGet"]) {
					attrs[str(a)] = true
				}
			} else {
				for _, w := range list(requests[table]) {
					if put := obj(obj(w)["PutRequest"]); put != nil {
						keys = append(keys, obj(put["Item"]))
					}
					if del := obj(obj(w)["DeleteRequest"]); del != nil {
						keys = append(keys, obj(del["Key"]))
					}
				}
			}
			for _, k := range keys {
				leading[scalar(k[tableKey])] = true
				for a := range k {
					attrs[a] = true
				}
			}
			ctxKeys := map[string]any{"dynamodb:LeadingKeys": sorted(leading), "dynamodb:Attributes": sorted(attrs)}
			if op == "BatchGetItem" {
				ctxKeys["dynamodb:Select"] = "SPECIFIC_ATTRIBUTES"
				if str(obj(requests[table])["ProjectionExpression"]) == "" && list(obj(requests[table])["AttributesToGet"]) == nil {
					ctxKeys["dynamodb:Select"] = "ALL_ATTRIBUTES"
				}
			}
			addCapacity(ctxKeys, in)
			out = append(out, Check{Action: "dynamodb:" + op, Resource: tableARN(table), Context: ctxKeys})
		}
		return out, nil
	}
	// Table-level actions (DescribeTable, CreateTable, …): the action on
	// the table, no item keys.
	table := str(in["TableName"])
	if table == "" {
		return []Check{{Action: "dynamodb:" + op, Resource: "*"}}, nil
	}
	return []Check{{Action: "dynamodb:" + op, Resource: tableARN(table)}}, nil
}

// itemCheck makes the check of one item action. dynamodb:Attributes holds
// every top-level attribute the request names: the key's attributes (the
// documented policies must list them), a put item's attributes, and the
// names in its update, condition and projection expressions. The stricter
// reading includes a condition expression's names: a policy must then
// allow what a write only tests.
func itemCheck(ctx context.Context, lk lookups, action string, in map[string]any, enclosing string) (Check, error) {
	table := str(in["TableName"])
	tableKey, _, err := lk.partitionKeys(ctx, table)
	if err != nil {
		return Check{}, err
	}
	names := strMap(in["ExpressionAttributeNames"])
	attrs := map[string]bool{}
	key := obj(in["Key"])
	if action == "PutItem" {
		key = obj(in["Item"])
	}
	for a := range key {
		attrs[a] = true
	}
	for _, e := range []string{"UpdateExpression", "ConditionExpression", "ProjectionExpression"} {
		topLevelNames(attrs, str(in[e]), names)
	}
	for a := range obj(in["AttributeUpdates"]) {
		attrs[a] = true
	}
	for a := range obj(in["Expected"]) {
		attrs[a] = true
	}
	for _, a := range list(in["AttributesToGet"]) {
		attrs[str(a)] = true
	}
	pk, ok := key[tableKey]
	if !ok {
		return Check{}, fmt.Errorf("%s on %s: no partition key %s", action, table, tableKey)
	}
	ctxKeys := map[string]any{
		"dynamodb:LeadingKeys": []string{scalar(pk)},
		"dynamodb:Attributes":  sorted(attrs),
	}
	if rv := str(in["ReturnValues"]); rv != "" && action != "GetItem" {
		ctxKeys["dynamodb:ReturnValues"] = rv
	}
	if action == "GetItem" {
		ctxKeys["dynamodb:Select"] = "ALL_ATTRIBUTES"
		if str(in["ProjectionExpression"]) != "" || in["AttributesToGet"] != nil {
			ctxKeys["dynamodb:Select"] = "SPECIFIC_ATTRIBUTES"
		}
	}
	// The Service Authorization Reference lists EnclosingOperation for
	// GetItem, PutItem, UpdateItem and DeleteItem, not ConditionCheckItem
	// (which exists only inside a transaction).
	if enclosing != "" && action != "ConditionCheckItem" {
		ctxKeys["dynamodb:EnclosingOperation"] = enclosing
	}
	addCapacity(ctxKeys, in)
	return Check{Action: "dynamodb:" + action, Context: ctxKeys}, nil
}

// selectOf is a Query's or Scan's dynamodb:Select: as sent, else what
// DynamoDB takes it to be (SPECIFIC_ATTRIBUTES with a projection,
// ALL_PROJECTED_ATTRIBUTES on an index, ALL_ATTRIBUTES on a table).
func selectOf(in map[string]any) string {
	if s := str(in["Select"]); s != "" {
		return s
	}
	if str(in["ProjectionExpression"]) != "" || in["AttributesToGet"] != nil {
		return "SPECIFIC_ATTRIBUTES"
	}
	if str(in["IndexName"]) != "" {
		return "ALL_PROJECTED_ATTRIBUTES"
	}
	return "ALL_ATTRIBUTES"
}

func addCapacity(ctxKeys map[string]any, in map[string]any) {
	if v := str(in["ReturnConsumedCapacity"]); v != "" {
		ctxKeys["dynamodb:ReturnConsumedCapacity"] = v
	}
}

// --- Secrets Manager ----------------------------------------------------------

// secretsChecks: the action on the secret's ARN, with secretsmanager:SecretId
// (the secret's ARN) and, where sent, the version asked for.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html
func secretsChecks(ctx context.Context, lk lookups, sc scope, op string, in map[string]any) []Check {
	id := str(in["SecretId"])
	if id == "" {
		// CreateSecret and ListSecrets name no existing secret.
		name := str(in["Name"])
		if name == "" {
			return []Check{{Action: "secretsmanager:" + op, Resource: "*"}}
		}
		return []Check{{Action: "secretsmanager:" + op, Resource: sc.arn("secretsmanager", "secret:"+name)}}
	}
	arn := lk.secretARN(ctx, id)
	ctxKeys := map[string]any{"secretsmanager:SecretId": arn}
	if op == "GetSecretValue" {
		if v := str(in["VersionId"]); v != "" {
			ctxKeys["secretsmanager:VersionId"] = v
		}
		if v := str(in["VersionStage"]); v != "" {
			ctxKeys["secretsmanager:VersionStage"] = v
		}
	}
	return []Check{{Action: "secretsmanager:" + op, Resource: arn, Context: ctxKeys}}
}

// --- SES v2 -------------------------------------------------------------------

// sesChecks: SendEmail on the identity the sender address sends under (and
// on its configuration set, where one is named), with the ses: keys of the
// message. https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html
func sesChecks(ctx context.Context, lk lookups, sc scope, r *http.Request, body []byte) ([]Check, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v2/email/")
	if r.Method == http.MethodPost && path == "outbound-emails" {
		var in struct {
			FromEmailAddress               string
			ConfigurationSetName           string
			FeedbackForwardingEmailAddress string
			Destination                    struct{ ToAddresses, CcAddresses, BccAddresses []string }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("SES SendEmail body: %w", err)
		}
		from, err := mail.ParseAddress(in.FromEmailAddress)
		if err != nil {
			// A raw message carries its From in the message; the request
			// names no address then.
			from = &mail.Address{}
		}
		recipients := append(append(append([]string{}, in.Destination.ToAddresses...), in.Destination.CcAddresses...), in.Destination.BccAddresses...)
		ctxKeys := map[string]any{"ses:ApiVersion": "2", "ses:Recipients": recipients}
		if from.Address != "" {
			ctxKeys["ses:FromAddress"] = from.Address
			ctxKeys["ses:FromDisplayName"] = from.Name
		}
		if in.FeedbackForwardingEmailAddress != "" {
			ctxKeys["ses:FeedbackAddress"] = in.FeedbackForwardingEmailAddress
		}
		out := []Check{{Action: "ses:SendEmail", Resource: sc.arn("ses", "identity/"+lk.sesIdentity(ctx, from.Address)), Context: ctxKeys}}
		if in.ConfigurationSetName != "" {
			out = append(out, Check{Action: "ses:SendEmail", Resource: sc.arn("ses", "configuration-set/"+in.ConfigurationSetName), Context: ctxKeys})
		}
		return out, nil
	}
	parts := strings.Split(path, "/")
	switch {
	case r.Method == http.MethodGet && path == "account":
		return []Check{{Action: "ses:GetAccount", Resource: "*"}}, nil
	case parts[0] == "identities" && len(parts) == 1:
		action := map[string]string{http.MethodPost: "ses:CreateEmailIdentity", http.MethodGet: "ses:ListEmailIdentities"}[r.Method]
		return []Check{{Action: action, Resource: "*"}}, nil
	case parts[0] == "identities" && len(parts) == 2:
		action := map[string]string{http.MethodGet: "ses:GetEmailIdentity", http.MethodDelete: "ses:DeleteEmailIdentity"}[r.Method]
		return []Check{{Action: action, Resource: sc.arn("ses", "identity/"+parts[1])}}, nil
	}
	return nil, fmt.Errorf("no IAM action known for SES %s %s", r.Method, r.URL.Path)
}

// --- JSON helpers -------------------------------------------------------------

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strMap(v any) map[string]string {
	out := map[string]string{}
	for k, e := range obj(v) {
		out[k] = str(e)
	}
	return out
}

// scalar is the text of a key's attribute value ({"S":"APP#1"} → APP#1), as
// dynamodb:LeadingKeys holds it.
func scalar(v any) string {
	for _, t := range []string{"S", "N", "B"} {
		if s, ok := obj(v)[t].(string); ok {
			return s
		}
	}
	return ""
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
