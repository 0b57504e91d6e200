package agent

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// LoadTLS builds the mTLS config of the Proxy API from PEM files (as
// `meshctl certs` writes them): for the agent (server) a certificate and
// the CA that client certificates must chain to, required and verified;
// for a proxy or tool (client) its certificate and the CA the agent's
// must chain to. TLS 1.3 only: every peer is ours.
func LoadTLS(caFile, certFile, keyFile string, server bool) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%w: tls ca %s: no PEM certificate", ErrInvalid, caFile)
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
