package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/gnmic/pkg/api"
	"github.com/openconfig/gnmic/pkg/api/target"
)

// runAgentToExit runs pccagent with args in dir and waits (bounded) for it
// to exit; it returns the exit code and the output.
func runAgentToExit(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binaryPath(t, "pccagent"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("pccagent %s still running after %v; output:\n%s", strings.Join(args, " "), waitLimit, out)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("pccagent %s: %v", strings.Join(args, " "), err)
	}
	return 0, string(out)
}

func TestStartFailsWithAReasonAndKeepsTheConfigFile(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	valid := configJSON(nil, []serverConf{{addr: netip.MustParseAddrPort("127.0.0.1:4189"), pref: 7}}, samplePolicies)
	tests := []struct {
		name   string
		config string // "" = no file
		args   []string
		want   string // a word the reason must contain (lowercase)
	}{
		{"invalid JSON", `{"pcc-agent:pce-client": {`, nil, "config"},
		{"value out of range", strings.Replace(valid, `"preference": 7`, `"preference": 9`, 1), nil, "preference"},
		{"unknown leaf", `{"pcc-agent:pce-client": {"config": {"no-such-leaf": 1}}}`, nil, "no-such-leaf"},
		{"state-timeout below delegate-hold", configJSON(map[string]any{"delegate-hold": 30, "state-timeout": 10}, nil, nil), nil, "state-timeout"},
		{"port in use", valid, []string{"--gnmi-listen", busy.Addr().String()}, ""},
		{"bad flag", valid, []string{"--no-such-flag"}, "no-such-flag"},
		{"bad log level", valid, []string{"--log-level", "loud"}, "log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "pccagent.json")
			if err := os.WriteFile(file, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--insecure", "--config", file}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--gnmi-listen") {
				args = append(args, "--gnmi-listen", freeAddr(t))
			}
			code, out := runAgentToExit(t, dir, args...)
			if code == 0 {
				t.Errorf("pccagent %s exited 0, want non-zero; output:\n%s", strings.Join(args, " "), out)
			}
			if strings.TrimSpace(out) == "" {
				t.Errorf("pccagent exited %d without a reason", code)
			}
			if tt.want != "" && !strings.Contains(strings.ToLower(out), tt.want) {
				t.Errorf("the reason does not mention %q:\n%s", tt.want, out)
			}
			after, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("config file gone: %v", err)
			}
			if string(after) != tt.config {
				t.Errorf("config file was rewritten:\nbefore %s\nafter  %s", tt.config, after)
			}
		})
	}
}

// ---- TLS ----

// certs is a CA with a server and a client certificate, as PEM files.
type certs struct {
	dir                   string
	caFile                string
	serverCert, serverKey string
	clientCert, clientKey string
	caCert                *x509.Certificate
	caKey                 *ecdsa.PrivateKey
}

func newCerts(t *testing.T) *certs {
	t.Helper()
	c := &certs{dir: t.TempDir()}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pccagent test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c.caCert, _ = x509.ParseCertificate(der)
	c.caKey = key
	c.caFile = c.writePEM(t, "ca.pem", "CERTIFICATE", der)
	c.serverCert, c.serverKey = c.leaf(t, "server", 2, x509.ExtKeyUsageServerAuth)
	c.clientCert, c.clientKey = c.leaf(t, "client", 3, x509.ExtKeyUsageClientAuth)
	return c
}

func (c *certs) leaf(t *testing.T, name string, serial int64, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.caCert, &key.PublicKey, c.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return c.writePEM(t, name+".pem", "CERTIFICATE", der), c.writePEM(t, name+"-key.pem", "EC PRIVATE KEY", kb)
}

func (c *certs) writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// dialTarget connects a gnmic target with opts and runs Capabilities; it
// returns the error of either step.
func dialTarget(t *testing.T, addr string, opts ...api.TargetOption) error {
	t.Helper()
	tg, err := api.NewTarget(append([]api.TargetOption{api.Address(addr), api.Timeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tg.CreateGNMIClient(ctx); err != nil {
		return err
	}
	defer tg.Close()
	_, err = capabilities(ctx, tg)
	return err
}

func capabilities(ctx context.Context, tg *target.Target) (any, error) { return tg.Capabilities(ctx) }

func TestTLSModes(t *testing.T) {
	c := newCerts(t)
	t.Run("self-signed by default", func(t *testing.T) {
		ag := startAgentWith(t, t.TempDir(), "")
		if err := dialTarget(t, ag.addr, api.SkipVerify(true)); err != nil {
			t.Errorf("TLS client (skip verify): %v", err)
		}
		if err := dialTarget(t, ag.addr, api.Insecure(true)); err == nil {
			t.Errorf("a plaintext client reached a TLS server")
		}
		if out := strings.ToLower(ag.output.String()); !strings.Contains(out, "fingerprint") && !strings.Contains(out, "sha256") && !strings.Contains(out, "sha-256") {
			t.Errorf("the self-signed certificate's SHA-256 fingerprint is not logged")
		}
	})
	t.Run("given certificate", func(t *testing.T) {
		ag := startAgentWith(t, t.TempDir(), "", "--tls-cert", c.serverCert, "--tls-key", c.serverKey)
		if err := dialTarget(t, ag.addr, api.TLSCA(c.caFile)); err != nil {
			t.Errorf("TLS client verifying the server with the CA: %v", err)
		}
	})
	t.Run("mutual TLS", func(t *testing.T) {
		ag := startAgentWith(t, t.TempDir(), "", "--tls-cert", c.serverCert, "--tls-key", c.serverKey, "--tls-ca", c.caFile)
		if err := dialTarget(t, ag.addr, api.TLSCA(c.caFile), api.TLSCert(c.clientCert), api.TLSKey(c.clientKey)); err != nil {
			t.Errorf("client with a certificate of the CA: %v", err)
		}
		if err := dialTarget(t, ag.addr, api.TLSCA(c.caFile)); err == nil {
			t.Errorf("a client without a certificate was accepted under mutual TLS")
		}
	})
}

func TestMetricsEndpointServesPrometheusText(t *testing.T) {
	sim := startPCESim(t, "127.0.0.1")
	metrics := freeAddr(t)
	ag := startAgent(t, t.TempDir(), configJSON(nil, []serverConf{{addr: sim.addr, pref: 7}}, samplePolicies), "--metrics-listen", metrics)
	sim.waitShow(t, "delegation", allDelegated(policyNames(samplePolicies)...))
	waitListening(t, ag.process, metrics)
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(waitLimit)
	for {
		resp, err := client.Get("http://" + metrics + "/metrics")
		if err != nil {
			t.Fatalf("GET /metrics: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
		}
		if bytes.Contains(body, []byte("\npccagent_lsps_delegated 3\n")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed 3 delegated LSPs:\n%s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
