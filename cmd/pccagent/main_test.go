package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartFailsWithOneLineReason(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"pcc-agent:pce-client": {"config": {"msd": 0}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "missing.json")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "bad flag"},
		{"extra argument", []string{"--insecure", "x"}, `unexpected argument "x"`},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level"},
		{"bad listen address", []string{"--gnmi-listen", "9339"}, "--gnmi-listen"},
		{"bad metrics address", []string{"--metrics-listen", "localhost"}, "--metrics-listen"},
		{"insecure with a certificate", []string{"--insecure", "--tls-cert", "c", "--tls-key", "k"}, "--insecure"},
		{"certificate without key", []string{"--tls-cert", "c"}, "--tls-key"},
		{"missing certificate files", []string{"--tls-cert", filepath.Join(dir, "c.pem"), "--tls-key", filepath.Join(dir, "k.pem")}, "TLS certificate"},
		{"port in use", []string{"--insecure", "--config", good, "--gnmi-listen", busy.Addr().String()}, "--gnmi-listen"},
		{"metrics port in use", []string{"--insecure", "--config", good, "--gnmi-listen", "127.0.0.1:0", "--metrics-listen", busy.Addr().String()}, "--metrics-listen"},
		{"bad config file", []string{"--insecure", "--config", bad, "--gnmi-listen", "127.0.0.1:0"}, bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stderr)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line containing %q", err, tt.want)
			}
		})
	}
}

func TestStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	cfg := filepath.Join(t.TempDir(), "c.json")
	if err := run(ctx, []string{"--insecure", "--config", cfg, "--gnmi-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(cfg); !os.IsNotExist(err) {
		t.Errorf("start wrote the config file: %v", err)
	}
}
