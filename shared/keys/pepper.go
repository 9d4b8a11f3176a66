// Package keys reads the portal's key material from AWS Secrets Manager and
// caches it in memory: the pepper that client secrets are hashed with.
package keys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/shared/portal"
	"credportal/shared/secret"
)

// SecretsManager is the part of the Secrets Manager client the keys use.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// CurrentTTL is how long the current pepper version is trusted before it is
// asked for again, so a rotation reaches running functions.
const CurrentTTL = 5 * time.Minute

// Peppers reads pepper versions from one secret. Versions never change, so
// each is fetched once; which one is current is re-read after CurrentTTL.
type Peppers struct {
	sm       SecretsManager
	secretID string
	now      func() time.Time

	mu        sync.Mutex
	byVersion map[string]secret.Pepper
	current   string
	checked   time.Time
}

var _ portal.Peppers = (*Peppers)(nil)

// NewPeppers reads peppers from the secret secretID.
func NewPeppers(sm SecretsManager, secretID string, now func() time.Time) *Peppers {
	return &Peppers{sm: sm, secretID: secretID, now: now, byVersion: map[string]secret.Pepper{}}
}

// Current returns the AWSCURRENT version.
func (p *Peppers) Current(ctx context.Context) (secret.Pepper, error) {
	p.mu.Lock()
	if p.current != "" && p.now().Sub(p.checked) < CurrentTTL {
		pep := p.byVersion[p.current]
		p.mu.Unlock()
		return pep, nil
	}
	p.mu.Unlock()
	pep, err := p.fetch(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(p.secretID), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		return secret.Pepper{}, err
	}
	p.mu.Lock()
	p.current, p.checked = pep.Version, p.now()
	p.mu.Unlock()
	return pep, nil
}

// Version returns one version by id.
func (p *Peppers) Version(ctx context.Context, version string) (secret.Pepper, error) {
	p.mu.Lock()
	pep, ok := p.byVersion[version]
	p.mu.Unlock()
	if ok {
		return pep, nil
	}
	return p.fetch(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(p.secretID), VersionId: aws.String(version)})
}

func (p *Peppers) fetch(ctx context.Context, in *secretsmanager.GetSecretValueInput) (secret.Pepper, error) {
	out, err := p.sm.GetSecretValue(ctx, in)
	if err != nil {
		return secret.Pepper{}, fmt.Errorf("get pepper: %w", err)
	}
	value := aws.ToString(out.SecretString)
	if value == "" {
		value = string(out.SecretBinary)
	}
	if len(value) < 32 || out.VersionId == nil {
		return secret.Pepper{}, errors.New("get pepper: the pepper secret is shorter than 32 bytes or has no version")
	}
	pep := secret.Pepper{Version: aws.ToString(out.VersionId), Key: []byte(value)}
	p.mu.Lock()
	p.byVersion[pep.Version] = pep
	p.mu.Unlock()
	return pep, nil
}
