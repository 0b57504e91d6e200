package meshctl

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestCertsMutualTLS makes a PKI and proves it: a TLS server with the agent
// certificate that requires client certificates accepts the proxy's and
// refuses a client without one; a second run reuses the CA.
func TestCertsMutualTLS(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	env := Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if code := Run(context.Background(), env, []string{"certs", "--out", dir, "--hosts", "localhost,127.0.0.1"}); code != 0 {
		t.Fatalf("certs: exit %d: %s", code, out.String())
	}
	ca1, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if fi, err := os.Stat(filepath.Join(dir, "proxy-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("proxy key: %v %v", fi, err)
	}
	if code := Run(context.Background(), env, []string{"certs", "--out", dir, "--clients", "proxy-b"}); code != 0 {
		t.Fatalf("second run: %s", out.String())
	}
	if ca2, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); !bytes.Equal(ca1, ca2) {
		t.Fatal("the second run replaced the CA")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca1)
	pair := func(name string) tls.Certificate {
		c, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair("agent")}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_, _ = c.Write([]byte("ok"))
			_ = c.Close()
		}
	}()
	dial := func(certs []tls.Certificate) error {
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, Certificates: certs, ServerName: "localhost", MinVersion: tls.VersionTLS13})
		if err != nil {
			return err
		}
		defer c.Close()
		b := make([]byte, 2)
		_, err = c.Read(b) // TLS 1.3: a refused client certificate shows on the first read
		return err
	}
	if err := dial([]tls.Certificate{pair("proxy")}); err != nil {
		t.Fatalf("proxy certificate refused: %v", err)
	}
	if err := dial([]tls.Certificate{pair("proxy-b")}); err != nil {
		t.Fatalf("certificate from the second run refused: %v", err)
	}
	if err := dial(nil); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	var _ net.Listener = l
}

func TestCertsUsage(t *testing.T) {
	var out bytes.Buffer
	env := Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	for _, args := range [][]string{
		{"certs", "--out", t.TempDir(), "--days", "0"},
		{"certs", "--out", t.TempDir(), "--clients", "../x"},
	} {
		if code := Run(context.Background(), env, args); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, out.String())
		}
	}
}
