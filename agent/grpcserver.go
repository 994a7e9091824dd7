package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TLSOptions says how the gRPC server secures its connections.
type TLSOptions struct {
	// Insecure serves plaintext; it excludes every other field.
	Insecure bool
	// CertFile and KeyFile are the server certificate and key (PEM). When
	// both are empty a self-signed certificate is made at start.
	CertFile, KeyFile string
	// CAFile, when set, makes client certificates required: they must be
	// signed by one of its CAs (mutual TLS).
	CAFile string
	// Hosts are the names and addresses a self-signed certificate is made
	// for (localhost, 127.0.0.1 and ::1 are always included).
	Hosts []string
}

// Check reports conflicting or incomplete options.
func (o TLSOptions) Check() error {
	if o.Insecure && (o.CertFile != "" || o.KeyFile != "" || o.CAFile != "") {
		return errors.New("--insecure cannot be combined with --tls-cert, --tls-key or --tls-ca")
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}

// ServerTLS returns the TLS configuration o describes (nil for Insecure)
// and, for a self-signed certificate, its SHA-256 fingerprint (hex, colon
// separated) so that clients can pin it.
func ServerTLS(o TLSOptions) (cfg *tls.Config, fingerprint string, err error) {
	if err := o.Check(); err != nil {
		return nil, "", err
	}
	if o.Insecure {
		return nil, "", nil
	}
	var cert tls.Certificate
	if o.CertFile != "" {
		cert, err = tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("TLS certificate: %w", err)
		}
	} else {
		cert, err = selfSigned(o.Hosts, time.Now())
		if err != nil {
			return nil, "", fmt.Errorf("self-signed certificate: %w", err)
		}
		fingerprint = Fingerprint(cert.Certificate[0])
	}
	cfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, "", fmt.Errorf("TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("TLS CA: no PEM certificate in %s", o.CAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, fingerprint, nil
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate as
// colon-separated upper-case hex, as openssl prints it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// selfSigned makes an ECDSA P-256 certificate valid for a year for hosts.
func selfSigned(hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "pccagent", Organization: []string{"pccagent"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// NewGRPCServer returns a gRPC server secured as tlsCfg says (nil:
// plaintext) with the agent's gNMI service registered, then every register
// function called on it, so that other services (the Operations service,
// reflection) share the server and its port. More server options (e.g.
// interceptors) can be passed in opts.
func NewGRPCServer(a *Agent, tlsCfg *tls.Config, register []func(*grpc.Server), opts ...grpc.ServerOption) *grpc.Server {
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	gs := grpc.NewServer(opts...)
	gnmi.RegisterGNMIServer(gs, a)
	for _, r := range register {
		r(gs)
	}
	return gs
}
