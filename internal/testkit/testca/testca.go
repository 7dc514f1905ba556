// Package testca makes a throwaway certificate authority for tests: a CA,
// a server certificate for 127.0.0.1 and localhost, and client
// certificates, as PEM files in the test's temporary directory, so that
// TLS and mutual TLS run for real on loopback.
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority.
type CA struct {
	tb   testing.TB
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// CertFile is the CA certificate (PEM), for --ca-cert.
	CertFile string
	pool     *x509.CertPool
	serial   int64
}

// New makes a CA whose files live in a temporary directory.
func New(tb testing.TB) *CA {
	tb.Helper()
	ca := &CA{tb: tb, dir: tb.TempDir(), serial: 1}
	key := ca.newKey()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(ca.serial),
		Subject:               pkix.Name{CommonName: "a2atop test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("testca: CA certificate: %v", err)
	}
	ca.cert, err = x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("testca: %v", err)
	}
	ca.key = key
	ca.pool = x509.NewCertPool()
	ca.pool.AddCert(ca.cert)
	ca.CertFile = ca.write("ca.pem", "CERTIFICATE", der)
	return ca
}

func (ca *CA) newKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.tb.Fatalf("testca: key: %v", err)
	}
	return key
}

func (ca *CA) write(name, kind string, der []byte) string {
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		ca.tb.Fatalf("testca: %v", err)
	}
	return path
}

func (ca *CA) issue(cn string, usage x509.ExtKeyUsage, server bool) (tls.Certificate, []byte, *ecdsa.PrivateKey) {
	ca.serial++
	key := ca.newKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if server {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.tb.Fatalf("testca: issue %s: %v", cn, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der, key
}

// ServerTLS is a server configuration for 127.0.0.1 and localhost; with
// requireClient it demands a client certificate issued by this CA.
func (ca *CA) ServerTLS(requireClient bool) *tls.Config {
	cert, _, _ := ca.issue("127.0.0.1", x509.ExtKeyUsageServerAuth, true)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if requireClient {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = ca.pool
	}
	return cfg
}

// ClientFiles issues a client certificate and writes it and its key as
// PEM files, for --cert and --key.
func (ca *CA) ClientFiles(name string) (certFile, keyFile string) {
	_, der, key := ca.issue(name, x509.ExtKeyUsageClientAuth, false)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		ca.tb.Fatalf("testca: %v", err)
	}
	return ca.write(name+".pem", "CERTIFICATE", der), ca.write(name+".key", "PRIVATE KEY", kder)
}
