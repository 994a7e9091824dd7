package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pccagent/pccagent/agent/telemetry"
	"github.com/pccagent/pccagent/pcep/pcc"
)

func TestLoadConfigFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // part of the error
	}{
		{"empty file", "", "empty file"},
		{"not JSON", "{", "not valid JSON"},
		{"unknown top-level member", `{"pcc-agent:pce-server": {}}`, `unknown top-level member "pcc-agent:pce-server"`},
		{"unknown leaf", `{"pcc-agent:pce-client": {"config": {"colour": 1}}}`, "colour"},
		{"wrong type", `{"pcc-agent:pce-client": {"config": {"msd": "ten"}}}`, "msd"},
		{"out of range", `{"pcc-agent:pce-client": {"config": {"msd": 0}}}`, "msd"},
		{"state-timeout below delegate-hold", `{"pcc-agent:pce-client": {"config": {"state-timeout": 5}}}`, "state-timeout (5) must be greater than or equal to delegate-hold (30)"},
		{"state data", `{"pcc-agent:pce-client": {"state": {"msd": 3}}}`, "/pce-client/state is read-only"},
		{"bad label", `{"pcc-agent:pce-client": {"policies": {"policy": [{"name": "a", "config": {"name": "a", "color": 1, "endpoint": "192.0.2.1", "labels": [1]}}]}}}`, "labels"},
		{"key mismatch", `{"pcc-agent:pce-client": {"policies": {"policy": [{"name": "a", "config": {"name": "b", "color": 1, "endpoint": "192.0.2.1"}}]}}}`, "policy[name=a]"},
		{"bad server address", `{"pcc-agent:pce-client": {"servers": {"server": [{"address": "pce1", "config": {"address": "pce1"}}]}}}`, "pce1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "pccagent.json")
			if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			e := &fakeEngine{}
			_, err := New(context.Background(), file, e, telemetry.NewCache())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), file) {
				t.Errorf("New: %v, want an error naming %s and %q", err, file, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if b, _ := os.ReadFile(file); string(b) != tt.content {
				t.Errorf("the bad file was rewritten: %q", b)
			}
			if e.applied != 0 {
				t.Errorf("engine got a configuration from a bad file")
			}
		})
	}
}

func TestMissingConfigFileIsEmptyConfigWithDefaults(t *testing.T) {
	ta := newTestAgent(t, "")
	if got, want := fmt.Sprintf("%+v", ta.engine.config()), fmt.Sprintf("%+v", pcc.DefaultConfig()); got != want {
		t.Errorf("engine config %s\nwant the YANG defaults %s", got, want)
	}
	if got := ta.fileBytes(t); got != "<missing>" {
		t.Errorf("start wrote the file: %q", got)
	}
}

func TestEngineRefusingTheStartupConfigStopsTheStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pccagent.json")
	if err := os.WriteFile(file, []byte(sampleConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(context.Background(), file, &fakeEngine{refuse: &pcc.ConfigError{Reason: "no"}}, telemetry.NewCache())
	if err == nil || !strings.Contains(err.Error(), "refused by the PCEP engine") {
		t.Errorf("New: %v", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.json")
	for _, content := range []string{"one\n", "two, longer\n", ""} {
		if err := writeFileAtomic(file, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(file); string(b) != content {
			t.Errorf("file %q, want %q", b, content)
		}
	}
	// A failure leaves the old file and no temp file.
	if err := os.Mkdir(filepath.Join(dir, "d.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "d.json"), []byte("x")); err == nil {
		t.Error("rename over a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want c.json and d.json", names)
	}
}

func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/pce-client/lsps/lsp[name=*]/state/delegated", true},
		{"/pcc-agent:pce-client/servers/server/state/counters/pcrpt-sent", true},
		{"/", true},
		{"/pce-client/lsps/lsp/state/nope", false},
		{"/other", false},
	}
	for _, tt := range tests {
		err := ValidatePath(mustPath(t, tt.path))
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePath(%s) = %v", tt.path, err)
		}
	}
}

// dial serves the agent on a loopback listener and returns a client.
func dial(t *testing.T, a *Agent, tlsCfg *tls.Config, creds credentials.TransportCredentials) (gnmi.GNMIClient, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := NewGRPCServer(a, tlsCfg, nil)
	go gs.Serve(ln)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	return gnmi.NewGNMIClient(conn), func() { conn.Close(); gs.Stop() }
}

func TestGRPCServerTLS(t *testing.T) {
	ta := newTestAgent(t, sampleConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("plaintext", func(t *testing.T) {
		c, stop := dial(t, ta.Agent, nil, insecure.NewCredentials())
		defer stop()
		if _, err := c.Capabilities(ctx, &gnmi.CapabilityRequest{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("self-signed certificate pinned by fingerprint", func(t *testing.T) {
		cfg, fp, err := ServerTLS(TLSOptions{})
		if err != nil || fp == "" {
			t.Fatalf("ServerTLS: %q %v", fp, err)
		}
		pinned := &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if Fingerprint(raw[0]) != fp {
				return errors.New("fingerprint mismatch")
			}
			return nil
		}}
		c, stop := dial(t, ta.Agent, cfg, credentials.NewTLS(pinned))
		defer stop()
		if _, err := c.Capabilities(ctx, &gnmi.CapabilityRequest{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("mutual TLS requires a client certificate", func(t *testing.T) {
		dir := t.TempDir()
		ca, err := selfSigned(nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		caFile := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate[0]}), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := ServerTLS(TLSOptions{CAFile: caFile})
		if err != nil {
			t.Fatal(err)
		}
		noCert := &tls.Config{InsecureSkipVerify: true}
		c, stop := dial(t, ta.Agent, cfg, credentials.NewTLS(noCert))
		defer stop()
		if _, err := c.Capabilities(ctx, &gnmi.CapabilityRequest{}); err == nil {
			t.Error("a client without certificate was served")
		}
		withCert := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{ca}}
		c2, stop2 := dial(t, ta.Agent, cfg, credentials.NewTLS(withCert))
		defer stop2()
		if _, err := c2.Capabilities(ctx, &gnmi.CapabilityRequest{}); err != nil {
			t.Errorf("a client with a certificate of the CA: %v", err)
		}
	})
}

func TestTLSOptionsCheck(t *testing.T) {
	tests := []struct {
		name string
		o    TLSOptions
		ok   bool
	}{
		{"self-signed", TLSOptions{}, true},
		{"insecure", TLSOptions{Insecure: true}, true},
		{"insecure with a certificate", TLSOptions{Insecure: true, CertFile: "c", KeyFile: "k"}, false},
		{"certificate without key", TLSOptions{CertFile: "c"}, false},
		{"key without certificate", TLSOptions{KeyFile: "k"}, false},
	}
	for _, tt := range tests {
		if err := tt.o.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if _, _, err := ServerTLS(TLSOptions{CertFile: "/nonexistent/c", KeyFile: "/nonexistent/k"}); err == nil {
		t.Error("missing certificate files accepted")
	}
}

func TestSampleConfigLoads(t *testing.T) {
	b, err := os.ReadFile("../yang/sample-config.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := parseConfig(b)
	if err != nil {
		t.Fatalf("yang/sample-config.json: %v", err)
	}
	if len(st.cfg.Servers) != 2 || len(st.cfg.Policies) != 1 || !st.cfg.SegmentRouting {
		t.Errorf("sample config %+v", st.cfg)
	}
}

func TestYANGAndSampleValidateWithYanglint(t *testing.T) {
	bin, err := exec.LookPath("yanglint")
	if err != nil {
		t.Skip("yanglint is not installed")
	}
	for _, args := range [][]string{
		{"../yang/pcc-agent.yang"},
		{"-t", "config", "../yang/pcc-agent.yang", "../yang/sample-config.json"},
	} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Errorf("yanglint %v: %v\n%s", args, err, out)
		}
	}
	// The must statement refuses what the agent refuses.
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"pcc-agent:pce-client": {"config": {"delegate-hold": 100}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "config", "../yang/pcc-agent.yang", bad).CombinedOutput(); err == nil {
		t.Errorf("yanglint accepted state-timeout < delegate-hold:\n%s", out)
	}
}
