package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/publickey"
)

// DefaultKeyLimit is the most unexpired public keys an application holds
// when nothing is configured.
const DefaultKeyLimit = 5

// KeyView is a registered public key as callers see it.
type KeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Thumbprint string     `json:"thumbprint"`
	Algorithms []string   `json:"algorithms"`
	CreatedAt  time.Time  `json:"createdAt"`
	CreatedBy  string     `json:"createdBy"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	Status     string     `json:"status"`
}

func (s *Service) keyView(k Key) KeyView {
	return KeyView{
		ID: k.ID, Name: k.Name, Type: k.Type, Thumbprint: k.Thumbprint, Algorithms: k.Algorithms,
		CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, Status: k.Status(s.now()),
	}
}

// CreateKeyInput registers a public key: PublicKey is a JSON string holding
// PEM text, or a JWK as a JSON object.
type CreateKeyInput struct {
	Name         string          `json:"name"`
	PublicKey    json.RawMessage `json:"publicKey"`
	ExpiresAt    *time.Time      `json:"expiresAt,omitempty"`
	LifetimeDays *int            `json:"lifetimeDays,omitempty"`
}

// publicKeyText is the text of the publicKey field: a string's contents, or
// the JWK object itself.
func (in CreateKeyInput) publicKeyText() ([]byte, error) {
	raw := in.PublicKey
	if len(raw) > 0 && raw[0] == '"' {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, ErrInvalidPublicKey
		}
		return []byte(text), nil
	}
	if len(raw) > 0 && raw[0] == '{' {
		return raw, nil
	}
	return nil, ErrInvalidPublicKey
}

// ListKeys lists an application's public keys, newest first.
func (s *Service) ListKeys(ctx context.Context, c Caller, appID, cursor string) (Page[KeyView], error) {
	if _, _, err := s.access(ctx, c, appID); err != nil {
		return Page[KeyView]{}, err
	}
	page, err := s.store.ListKeys(ctx, appID, cursor, pageLimit)
	if err != nil {
		return Page[KeyView]{}, fmt.Errorf("list keys of %s: %w", appID, err)
	}
	out := Page[KeyView]{Items: make([]KeyView, 0, len(page.Items)), Next: page.Next}
	for _, k := range page.Items {
		out.Items = append(out.Items, s.keyView(k))
	}
	return out, nil
}

// parsePublicKey reads the key of in. Its failures carry nothing of the
// text, which may hold a private key.
func parsePublicKey(in CreateKeyInput) (publickey.Key, error) {
	text, err := in.publicKeyText()
	if err != nil {
		return publickey.Key{}, err
	}
	pk, err := publickey.Parse(text)
	switch {
	case errors.Is(err, publickey.ErrPrivateKey):
		return publickey.Key{}, ErrPrivateKeyRefused
	case errors.Is(err, publickey.ErrUnsupported):
		return publickey.Key{}, ErrUnsupportedKey
	case errors.Is(err, publickey.ErrNotForSigning):
		return publickey.Key{}, ErrKeyNotForSigning
	case err != nil:
		return publickey.Key{}, ErrInvalidPublicKey
	}
	return pk, nil
}

// keyExpiry is when a new key expires: as asked (within the policy), or for
// a certificate by default its notAfter; never after a certificate's
// notAfter.
func (s *Service) keyExpiry(in CreateKeyInput, pk publickey.Key, now time.Time) (time.Time, error) {
	if pk.NotAfter == nil || in.ExpiresAt != nil || in.LifetimeDays != nil {
		at, err := s.expiry(CreateSecretInput{ExpiresAt: in.ExpiresAt, LifetimeDays: in.LifetimeDays}, now)
		if err != nil {
			return time.Time{}, err
		}
		if pk.NotAfter != nil && at.After(*pk.NotAfter) {
			return time.Time{}, &Error{Err: ErrCertificateExpiry, Value: pk.NotAfter.Format(time.RFC3339)}
		}
		return at, nil
	}
	// A certificate without an asked expiry: its own, capped by the policy.
	at := pk.NotAfter.Truncate(time.Second)
	if limit := now.Add(time.Duration(s.cfg.Policy.MaxLifetimeDays) * 24 * time.Hour); at.After(limit) {
		at = limit
	}
	if !at.After(now) {
		return time.Time{}, &Error{Err: ErrCertificateExpiry, Value: pk.NotAfter.Format(time.RFC3339)}
	}
	return at, nil
}

// CreateKey registers a public key on the application.
func (s *Service) CreateKey(ctx context.Context, c Caller, appID string, in CreateKeyInput, r Request) (KeyView, error) {
	g, err := s.manage(ctx, c, appID)
	if err != nil {
		return KeyView{}, err
	}
	if !ValidName(in.Name) {
		return KeyView{}, ErrInvalidName
	}
	pk, err := parsePublicKey(in)
	if err != nil {
		return KeyView{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	expiresAt, err := s.keyExpiry(in, pk, now)
	if err != nil {
		return KeyView{}, err
	}
	id, err := ids.New(ids.Key, s.now(), s.random)
	if err != nil {
		return KeyView{}, fmt.Errorf("generate key id: %w", err)
	}
	k := Key{
		ID: id, ApplicationID: appID, Name: in.Name, Type: pk.Type, Thumbprint: pk.Thumbprint, Algorithms: pk.Algorithms,
		DER: pk.DER, CreatedAt: now, CreatedBy: c.Email, ExpiresAt: expiresAt,
	}
	ev, err := s.keyEvent(c, audit.KeyCreated, k, r)
	if err != nil {
		return KeyView{}, err
	}
	if err := s.stored(ctx, c, appID, s.store.AddKey(ctx, k, s.cfg.KeyLimit, now, ev, g.designation), ErrKeyLimit, ErrKeyLimit, "add key to "+appID); err != nil {
		return KeyView{}, err
	}
	return s.keyView(k), nil
}

// DeleteKey deletes a key at once. A key used within RecentUse is deleted
// only with confirm.
func (s *Service) DeleteKey(ctx context.Context, c Caller, appID, keyID string, confirm bool, r Request) error {
	k, g, err := managed(ctx, s, c, appID, keyID, ids.Key, "key", ErrKeyNotFound, s.store.GetKey)
	if err != nil {
		return err
	}
	if !confirm && k.LastUsedAt != nil && s.now().UTC().Sub(*k.LastUsedAt) < RecentUse+LastUsedPrecision {
		return ErrKeyRecentlyUsed
	}
	ev, err := s.keyEvent(c, audit.KeyDeleted, k, r)
	if err != nil {
		return err
	}
	if err := s.stored(ctx, c, appID, s.store.RemoveKey(ctx, k, ev, g.designation), ErrNotFound, ErrKeyNotFound, "remove key "+keyID); err != nil {
		return err
	}
	return nil
}

// keyEvent describes an action on a key.
func (s *Service) keyEvent(c Caller, action string, k Key, r Request) (audit.Event, error) {
	ev, err := audit.New(s.now().UTC(), s.random, c.Email, action, k.ApplicationID)
	if err != nil {
		return audit.Event{}, err
	}
	ev.SourceIP, ev.UserAgent, ev.RequestID = r.SourceIP, r.UserAgent, r.RequestID
	ev.Details = map[string]string{"keyId": k.ID, "keyName": k.Name, "thumbprint": k.Thumbprint}
	return ev, nil
}
