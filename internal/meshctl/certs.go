package meshctl

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runCerts makes a lab PKI for mesh-agent's mTLS: a CA, a server
// certificate for the agent (its names and addresses as SANs) and client
// certificates for proxies and people (meshctl). Keys are ECDSA P-256,
// written 0600; an existing CA in --out is reused, so certificates can be
// added later.
func runCerts(_ context.Context, env Env, args []string) error {
	var out, hosts, clients string
	var days int
	fs := newFlags(env, "certs")
	fs.StringVar(&out, "out", "certs", "directory for the PEM files")
	fs.StringVar(&hosts, "hosts", "localhost,127.0.0.1", "comma list of the agent's DNS names and IP addresses (server certificate SANs)")
	fs.StringVar(&clients, "clients", "proxy,meshctl", "comma list of client certificate names (one per proxy, person or tool)")
	fs.IntVar(&days, "days", 365, "validity of the new certificates")
	if err := parse(fs, args); err != nil {
		return err
	}
	if days < 1 || days > 3650 {
		return fmt.Errorf("%w: --days %d: want 1-3650", ErrUsage, days)
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	ca, caKey, fresh, err := loadOrMakeCA(out, days)
	if err != nil {
		return err
	}
	if fresh {
		fmt.Fprintf(env.Stdout, "certs: new CA %s\n", filepath.Join(out, "ca.pem"))
	}
	life := time.Duration(days) * 24 * time.Hour
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "mesh-agent"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range splitList(hosts) {
		if ip := net.ParseIP(h); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else {
			server.DNSNames = append(server.DNSNames, h)
		}
	}
	if err := issue(out, "agent", server, ca, caKey, life); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "certs: agent server certificate %s for %s\n", filepath.Join(out, "agent.pem"), hosts)
	for _, name := range splitList(clients) {
		if strings.ContainsAny(name, `/\`) || name == "ca" || name == "agent" {
			return fmt.Errorf("%w: client name %q: no slashes, not ca or agent", ErrUsage, name)
		}
		client := &x509.Certificate{
			Subject:     pkix.Name{CommonName: name},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := issue(out, name, client, ca, caKey, life); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "certs: client certificate %s\n", filepath.Join(out, name+".pem"))
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// loadOrMakeCA reads out/ca.pem and out/ca-key.pem, or makes them.
func loadOrMakeCA(out string, days int) (*x509.Certificate, *ecdsa.PrivateKey, bool, error) {
	certPath, keyPath := filepath.Join(out, "ca.pem"), filepath.Join(out, "ca-key.pem")
	if cb, err := os.ReadFile(certPath); err == nil {
		kb, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s exists but its key does not: %w", certPath, err)
		}
		cert, key, err := parsePair(cb, kb)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", certPath, err)
		}
		return cert, key, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, false, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "mediamesh lab CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Duration(days) * 24 * time.Hour * 2),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, false, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, false, err
	}
	if err := writePair(certPath, keyPath, der, key); err != nil {
		return nil, nil, false, err
	}
	return cert, key, true, nil
}

// issue signs tmpl with the CA and writes out/name.pem and out/name-key.pem.
func issue(out, name string, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, life time.Duration) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour) // tolerate clocks a little behind
	tmpl.NotAfter = time.Now().Add(life)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	return writePair(filepath.Join(out, name+".pem"), filepath.Join(out, name+"-key.pem"), der, key)
}

func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !cert.IsCA {
		return nil, nil, errors.New("not an ECDSA CA made by meshctl certs")
	}
	return cert, key, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
