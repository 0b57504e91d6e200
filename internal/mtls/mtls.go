// Package mtls loads the mutual-TLS configs of the mesh's control plane
// (mesh-agent's Proxy API and the proxies and tools that call it) from the
// PEM files `meshctl certs` writes.
package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// ErrNoCA means the CA file holds no PEM certificate.
var ErrNoCA = errors.New("no PEM certificate")

// Server is the agent's side: its certificate, and the CA every client
// certificate must chain to, required and verified.
func Server(caFile, certFile, keyFile string) (*tls.Config, error) {
	return load(caFile, certFile, keyFile, true)
}

// Client is a proxy's or tool's side: its certificate, and the CA the
// agent's must chain to.
func Client(caFile, certFile, keyFile string) (*tls.Config, error) {
	return load(caFile, certFile, keyFile, false)
}

// load builds either side. TLS 1.3 only: every peer is ours.
func load(caFile, certFile, keyFile string, server bool) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("tls ca %s: %w", caFile, ErrNoCA)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s: %w", certFile, err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	if server {
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	} else {
		c.RootCAs = pool
	}
	return c, nil
}
