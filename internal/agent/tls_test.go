package agent

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

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	agentv1 "mediamesh/api/agent/v1"
	"mediamesh/internal/mtls"
	"mediamesh/internal/testutil"
)

// pki is a throwaway CA with certificates issued under it, as PEM files.
type pki struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	p.cert, _ = x509.ParseCertificate(der)
	p.write(t, "ca", der, nil)
	return p
}

// issue writes name.pem and name-key.pem; server certificates are for
// 127.0.0.1.
func (p *pki) issue(t *testing.T, name string, server bool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, name, der, key)
}

func (p *pki) write(t *testing.T, name string, der []byte, key *ecdsa.PrivateKey) {
	t.Helper()
	if err := os.WriteFile(p.path(name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if key != nil {
		kder, _ := x509.MarshalPKCS8PrivateKey(key)
		if err := os.WriteFile(p.keyPath(name), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func (p *pki) path(name string) string    { return filepath.Join(p.dir, name+".pem") }
func (p *pki) keyPath(name string) string { return filepath.Join(p.dir, name+"-key.pem") }

// TestMTLS: a proxy with a certificate from the agent's CA gets in; one
// without a certificate, with another CA's, or in plaintext does not.
func TestMTLS(t *testing.T) {
	testutil.CheckLeaks(t)
	ca, rogue := newPKI(t, "mesh CA"), newPKI(t, "rogue CA")
	ca.issue(t, "agent", true)
	ca.issue(t, "proxy", false)
	rogue.issue(t, "proxy", false)
	serverTLS, err := mtls.Server(ca.path("ca"), ca.path("agent"), ca.keyPath("agent"))
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, t.TempDir(), func(c *Config) { c.Insecure, c.TLS = false, serverTLS })

	clientTLS, err := mtls.Client(ca.path("ca"), ca.path("proxy"), ca.keyPath("proxy"))
	if err != nil {
		t.Fatal(err)
	}
	api := dialAgent(t, a, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
	p := register(t, api, "10.0.0.1", "")
	p.open(t)
	p.config(t)

	rogueTLS, err := mtls.Client(ca.path("ca"), rogue.path("proxy"), rogue.keyPath("proxy"))
	if err != nil {
		t.Fatal(err)
	}
	noCert := clientTLS.Clone()
	noCert.Certificates = nil
	for name, opt := range map[string]grpc.DialOption{
		"no client certificate":         grpc.WithTransportCredentials(credentials.NewTLS(noCert)),
		"certificate of another CA":     grpc.WithTransportCredentials(credentials.NewTLS(rogueTLS)),
		"plaintext":                     grpc.WithTransportCredentials(insecure.NewCredentials()),
		"agent not trusted by the peer": grpc.WithTransportCredentials(credentials.NewTLS(mustLoad(t, rogue, "proxy"))),
	} {
		t.Run(name, func(t *testing.T) {
			api := dialAgent(t, a, opt)
			_, err := api.RegisterMediaProxy(t.Context(), &agentv1.RegisterMediaProxyRequest{})
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("got %v, want Unavailable (handshake refused)", err)
			}
		})
	}
	snap, _ := a.Snapshot(t.Context())
	if len(snap.Proxies) != 1 {
		t.Fatalf("%d proxies registered, want 1", len(snap.Proxies))
	}

	for _, bad := range [][3]string{
		{filepath.Join(ca.dir, "missing.pem"), ca.path("agent"), ca.keyPath("agent")},
		{ca.keyPath("agent"), ca.path("agent"), ca.keyPath("agent")}, // a key is no CA
		{ca.path("ca"), ca.path("agent"), ca.keyPath("proxy")},       // mismatched pair
	} {
		if _, err := mtls.Server(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("mtls.Server(%q) accepted", bad)
		}
	}
}

// mustLoad is a client config trusting p's CA and presenting p's name
// certificate.
func mustLoad(t *testing.T, p *pki, name string) *tls.Config {
	t.Helper()
	c, err := mtls.Client(p.path("ca"), p.path(name), p.keyPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A proxy is bound to the certificate it registered with: another
// proxy's certificate can neither act for it nor take its id over.
func TestIdentityBindsProxy(t *testing.T) {
	testutil.CheckLeaks(t)
	ca := newPKI(t, "mesh CA")
	ca.issue(t, "agent", true)
	ca.issue(t, "node-a", false)
	ca.issue(t, "node-b", false)
	serverTLS, err := mtls.Server(ca.path("ca"), ca.path("agent"), ca.keyPath("agent"))
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, t.TempDir(), func(c *Config) { c.Insecure, c.TLS = false, serverTLS })
	apiA := dialAgent(t, a, grpc.WithTransportCredentials(credentials.NewTLS(mustLoad(t, ca, "node-a"))))
	apiB := dialAgent(t, a, grpc.WithTransportCredentials(credentials.NewTLS(mustLoad(t, ca, "node-b"))))
	pa := register(t, apiA, "10.0.0.1", "")
	pa.conn(t, KindTx, videoCfg(receiver, "g"), "") // its own: allowed

	ctx := t.Context()
	for name, call := range map[string]func() error{
		"register a connection for A": func() error {
			_, err := apiB.RegisterConnection(ctx, &agentv1.RegisterConnectionRequest{ProxyId: pa.id, Kind: KindTx, Config: videoCfg(receiver, "g")})
			return err
		},
		"unregister A": func() error {
			_, err := apiB.UnregisterMediaProxy(ctx, &agentv1.UnregisterMediaProxyRequest{ProxyId: pa.id})
			return err
		},
		"open A's command stream": func() error {
			s, err := apiB.StartCommandQueue(ctx, &agentv1.StartCommandQueueRequest{ProxyId: pa.id})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
		"re-register as A": func() error {
			_, err := apiB.RegisterMediaProxy(metadata.AppendToOutgoingContext(ctx, MetadataProxyID, pa.id), &agentv1.RegisterMediaProxyRequest{})
			return err
		},
		"send A's metrics": func() error {
			_, err := apiB.SendMetrics(ctx, &agentv1.SendMetricsRequest{ProxyId: pa.id})
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.PermissionDenied {
			t.Errorf("B's certificate may %s: %v", name, err)
		}
	}
	if snap, _ := a.Snapshot(ctx); snap.Proxies[pa.id] == nil || len(snap.Conns) != 1 {
		t.Fatalf("A's registration changed: %+v", snap)
	}
}
