package localstack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"credportal/shared/scanning"
)

// scanningSigner stands in for GitHub's secret scanning: its key signs
// reports locally (docs/local-stack.md signs one with openssl), and the stack
// publishes the key list the secret scanning function verifies them with.
type scanningSigner struct {
	key  *ecdsa.PrivateKey
	list []byte // the key list document
}

func newScanningSigner() (*scanningSigner, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the secret scanning signer's key: %w", err)
	}
	list, err := scanning.NewKeyList(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return &scanningSigner{key: key, list: raw}, nil
}

// WriteScanningKey writes the stand-in signer's private key to path as
// PKCS#8 PEM, readable by its owner only.
func (s *Stack) WriteScanningKey(path string) error {
	der, err := x509.MarshalPKCS8PrivateKey(s.scanning.key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// serveScanningKeys is GET /local/secret-scanning/keys.
func (s *Stack) serveScanningKeys(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		localError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use GET /local/secret-scanning/keys.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(s.scanning.list)
}
