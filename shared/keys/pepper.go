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

// VersionLister lists a secret's versions; the Secrets Manager client is one.
type VersionLister interface {
	ListSecretVersionIds(context.Context, *secretsmanager.ListSecretVersionIdsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error)
}

var _ VersionLister = (*secretsmanager.Client)(nil)

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

	lister     VersionLister
	live       []string // every version id, as last listed
	liveListed time.Time
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

// WithVersionLister lets Live list the secret's versions through l.
func (p *Peppers) WithVersionLister(l VersionLister) *Peppers {
	p.lister = l
	return p
}

// maxPepperVersions bounds how many versions Live hashes a value under.
// Secrets Manager keeps about 100 versions of a secret.
const maxPepperVersions = 200

// Live returns every version of the pepper that a stored hash may name: all
// the secret's versions, staged or not (a secret hashed before two
// rotations names a version with no stage left). The list is re-read after
// CurrentTTL, like the current version.
func (p *Peppers) Live(ctx context.Context) ([]secret.Pepper, error) {
	if p.lister == nil {
		return nil, errors.New("live peppers: no version lister")
	}
	p.mu.Lock()
	versions, fresh := p.live, p.live != nil && p.now().Sub(p.liveListed) < CurrentTTL
	p.mu.Unlock()
	if !fresh {
		var listed []string
		pages := secretsmanager.NewListSecretVersionIdsPaginator(p.lister, &secretsmanager.ListSecretVersionIdsInput{
			SecretId: aws.String(p.secretID), IncludeDeprecated: aws.Bool(true),
		})
		for pages.HasMorePages() && len(listed) < maxPepperVersions {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list pepper versions: %w", err)
			}
			for _, v := range page.Versions {
				listed = append(listed, aws.ToString(v.VersionId))
			}
		}
		p.mu.Lock()
		p.live, p.liveListed, versions = listed, p.now(), listed
		p.mu.Unlock()
	}
	out := make([]secret.Pepper, 0, len(versions))
	for _, v := range versions {
		pep, err := p.Version(ctx, v)
		if err != nil {
			return nil, err
		}
		out = append(out, pep)
	}
	return out, nil
}
