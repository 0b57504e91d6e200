package conf

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// Proxy is media-proxy's configuration. JSON keys are the config file's;
// each has the environment variable MEDIAMESH_<KEY IN UPPER SNAKE CASE>.
type Proxy struct {
	RunDir      string   `json:"runDir"`      // --run-dir
	SDKIP       string   `json:"sdkIp"`       // --sdk-ip: TCP SDK API address
	SDKPort     int      `json:"sdkPort"`     // -t/--tcp/--sdk (MCM: 8002); 0 picks a free port
	GRPCPort    int      `json:"grpcPort"`    // -g/--grpc (MCM 2023's controller port; accepted, unused)
	ST2110Dev   string   `json:"st2110Dev"`   // -d/--dev/--st2110_dev
	ST2110IP    string   `json:"st2110Ip"`    // -i/--ip/--st2110_ip
	PTPClock    string   `json:"ptpClock"`    // --ptp-clock: /dev/ptpN for ST 2110 timestamps
	Agent       string   `json:"agent"`       // -a/--agent ("" or "none": no mesh)
	AgentCA     string   `json:"agentCa"`     // --agent-ca
	AgentCert   string   `json:"agentCert"`   // --agent-cert
	AgentKey    string   `json:"agentKey"`    // --agent-key
	RDMAIP      string   `json:"rdmaIp"`      // -r/--rdma_ip
	RDMAPorts   string   `json:"rdmaPorts"`   // -p/--rdma_ports
	LogLevel    string   `json:"logLevel"`    // --log-level
	LogFormat   string   `json:"logFormat"`   // --log-format (text on a terminal, else json)
	Insecure    bool     `json:"insecure"`    // --insecure
	Token       string   `json:"token"`       // --token
	TokenFile   string   `json:"tokenFile"`   // --token-file
	SocketGroup string   `json:"socketGroup"` // --socket-group
	AllowUIDs   []uint32 `json:"allowUids"`   // --allow-uid
	AllowGIDs   []uint32 `json:"allowGids"`   // --allow-gid
}

// DefaultProxy returns the built-in defaults (MCM's where MCM has them).
func DefaultProxy() Proxy {
	return Proxy{
		RunDir:    "/run/mediamesh",
		SDKIP:     "127.0.0.1",
		SDKPort:   8002,
		GRPCPort:  8001,
		ST2110Dev: "0000:31:00.0",
		ST2110IP:  "192.168.96.1",
		Agent:     "localhost:50051",
		RDMAIP:    "192.168.96.2",
		RDMAPorts: "9100-9999",
		LogLevel:  "info",
		LogFormat: "",
	}
}

// Action is what the command line asks for.
type Action int

// Actions.
const (
	ActionRun Action = iota
	ActionHelp
	ActionCheck
	ActionPrint
)

// ErrUsage marks a command line error (exit code 2).
var ErrUsage = errors.New("usage")

// flagSpec binds flag names to a JSON key.
var proxyFlags = []struct {
	names []string
	key   string
	usage string
}{
	{[]string{"run-dir"}, "runDir", "directory for the SDK and memif unix sockets"},
	{[]string{"sdk-ip"}, "sdkIp", "IP address of the TCP SDK API (non-loopback needs --token or --insecure)"},
	{[]string{"t", "tcp", "sdk"}, "sdkPort", "TCP port of the SDK API (MCM: 8002)"},
	{[]string{"g", "grpc"}, "grpcPort", "MCM 2023 controller port: accepted for compatibility, not used"},
	{[]string{"d", "dev", "st2110_dev"}, "st2110Dev", "NIC for ST 2110 (MCM: PCI address); informational"},
	{[]string{"i", "ip", "st2110_ip"}, "st2110Ip", "local IPv4 address for ST 2110 traffic"},
	{[]string{"ptp-clock"}, "ptpClock", "PTP hardware clock (/dev/ptpN) for ST 2110 timestamps (default: system clock in TAI)"},
	{[]string{"a", "agent"}, "agent", "mesh-agent Proxy API address host:port (\"none\": no mesh)"},
	{[]string{"agent-ca"}, "agentCa", "CA certificate (PEM) the agent's certificate must chain to (mTLS)"},
	{[]string{"agent-cert"}, "agentCert", "this proxy's client certificate for the agent (PEM; `meshctl certs` makes one)"},
	{[]string{"agent-key"}, "agentKey", "the private key of --agent-cert (PEM)"},
	{[]string{"r", "rdma_ip"}, "rdmaIp", "local IPv4 for bridges (MCM's RDMA address)"},
	{[]string{"p", "rdma_ports"}, "rdmaPorts", "local port ranges for bridges, a-b,c,d-e"},
	{[]string{"log-level"}, "logLevel", "debug, info, warn or error"},
	{[]string{"log-format"}, "logFormat", "text or json (default: text on a terminal, else json)"},
	{[]string{"insecure"}, "insecure", "allow unauthenticated TCP on any address (lab use)"},
	{[]string{"token"}, "token", "bearer token TCP SDK clients must present"},
	{[]string{"token-file"}, "tokenFile", "file holding the bearer token"},
	{[]string{"socket-group"}, "socketGroup", "group (name or gid) owning the unix sockets"},
	{[]string{"allow-uid"}, "allowUids", "comma list of uids allowed on the SDK unix socket"},
	{[]string{"allow-gid"}, "allowGids", "comma list of gids allowed on the SDK unix socket"},
}

// LoadProxy builds the configuration from args and the environment:
// defaults, then --config FILE, then MEDIAMESH_* variables, then flags.
func LoadProxy(args []string, getenv func(string) string, stdout io.Writer) (*Proxy, Action, error) {
	fs := flag.NewFlagSet("media-proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var fl Proxy
	set := map[string]func(string) error{}
	for _, f := range proxyFlags {
		field := fieldByKey(&fl, f.key)
		for _, n := range f.names {
			if field.Kind() == reflect.Bool {
				fs.BoolFunc(n, f.usage, func(s string) error { set[f.key] = nil; return setValue(field, s) })
			} else {
				fs.Func(n, f.usage, func(s string) error { set[f.key] = nil; return setValue(field, s) })
			}
		}
	}
	var file string
	var help, check, printCfg bool
	fs.StringVar(&file, "config", "", "JSON config file")
	fs.BoolVar(&help, "h", false, "show this help")
	fs.BoolVar(&help, "help", false, "show this help")
	fs.BoolVar(&help, "?", false, "show this help")
	fs.BoolVar(&check, "check-config", false, "validate the configuration and exit")
	fs.BoolVar(&printCfg, "print-config", false, "print the effective configuration (token redacted) and exit")
	if err := fs.Parse(args); err != nil {
		return nil, ActionHelp, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, ActionHelp, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	if help {
		ProxyUsage(stdout)
		return nil, ActionHelp, nil
	}
	cfg := DefaultProxy()
	if file == "" {
		file = getenv("MEDIAMESH_CONFIG")
	}
	if file != "" {
		if err := loadFile(file, &cfg); err != nil {
			return nil, ActionRun, err
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return nil, ActionRun, err
	}
	for key := range set {
		fieldByKey(&cfg, key).Set(fieldByKey(&fl, key))
	}
	if err := cfg.Validate(); err != nil {
		return nil, ActionRun, err
	}
	switch {
	case check:
		return &cfg, ActionCheck, nil
	case printCfg:
		return &cfg, ActionPrint, nil
	}
	return &cfg, ActionRun, nil
}

// ProxyUsage prints the flags.
func ProxyUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: media-proxy [flags]\n\nflags (env MEDIAMESH_<KEY>, config file key in brackets):\n")
	def := DefaultProxy()
	for _, f := range proxyFlags {
		names := make([]string, len(f.names))
		for i, n := range f.names {
			if len(n) == 1 {
				names[i] = "-" + n
			} else {
				names[i] = "--" + n
			}
		}
		fmt.Fprintf(&b, "  %-34s %s [%s, default %v]\n", strings.Join(names, ", "), f.usage, f.key, fieldByKey(&def, f.key).Interface())
	}
	b.WriteString("  --config FILE                      JSON config file (env MEDIAMESH_CONFIG)\n")
	b.WriteString("  --check-config                     validate the configuration and exit\n")
	b.WriteString("  --print-config                     print the effective configuration and exit\n")
	b.WriteString("  -h, --help                         show this help\n")
	_, _ = io.WriteString(w, b.String())
}

func loadFile(path string, cfg *Proxy) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields() // a typo must not fall back to a default
	if err := d.Decode(cfg); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// EnvName is the environment variable of a JSON key: sdkPort → MEDIAMESH_SDK_PORT.
func EnvName(key string) string {
	var b strings.Builder
	b.WriteString("MEDIAMESH_")
	for i, r := range key {
		if r >= 'A' && r <= 'Z' && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

func applyEnv(cfg *Proxy, getenv func(string) string) error {
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	var errs []error
	for i := range t.NumField() {
		key := t.Field(i).Tag.Get("json")
		if s := getenv(EnvName(key)); s != "" {
			if err := setValue(v.Field(i), s); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(key), err))
			}
		}
	}
	return errors.Join(errs...)
}

func fieldByKey(p *Proxy, key string) reflect.Value {
	v := reflect.ValueOf(p).Elem()
	t := v.Type()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("json") == key {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

func setValue(f reflect.Value, s string) error {
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		f.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		f.SetBool(b)
	case reflect.Slice:
		var ids []uint32
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			n, err := strconv.ParseUint(part, 10, 32)
			if err != nil {
				return fmt.Errorf("%q is not an id", part)
			}
			ids = append(ids, uint32(n))
		}
		f.Set(reflect.ValueOf(ids))
	default:
		return fmt.Errorf("unsupported kind %s", f.Kind())
	}
	return nil
}

// Validate reports every problem at once, each with its key.
func (p *Proxy) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if p.RunDir == "" {
		bad("runDir", "must not be empty")
	} else if len(p.RunDir) > 40 {
		bad("runDir", "%q is %d bytes; keep it ≤ 40 so memif socket paths fit in 108 bytes", p.RunDir, len(p.RunDir))
	}
	for _, port := range []struct {
		key string
		v   int
	}{{"sdkPort", p.SDKPort}, {"grpcPort", p.GRPCPort}} {
		if port.v < 0 || port.v > 65535 {
			bad(port.key, "%d: want 0-65535", port.v)
		}
	}
	ip := net.ParseIP(p.SDKIP)
	if ip == nil {
		bad("sdkIp", "%q is not an IP address", p.SDKIP)
	}
	if p.Token != "" && p.TokenFile != "" {
		bad("token", "give token or tokenFile, not both")
	}
	if p.TokenFile != "" {
		b, err := os.ReadFile(p.TokenFile)
		if err != nil {
			bad("tokenFile", "%v", err)
		} else if p.Token = strings.TrimSpace(string(b)); p.Token == "" {
			bad("tokenFile", "%s is empty", p.TokenFile)
		}
	}
	if ip != nil && !ip.IsLoopback() && p.Token == "" && !p.Insecure {
		bad("sdkIp", "%s is not loopback: set a token (--token, --token-file) or choose --insecure", p.SDKIP)
	}
	if net.ParseIP(p.ST2110IP) == nil {
		bad("st2110Ip", "%q is not an IP address", p.ST2110IP)
	}
	if net.ParseIP(p.RDMAIP) == nil {
		bad("rdmaIp", "%q is not an IP address", p.RDMAIP)
	}
	if p.MeshEnabled() {
		if _, _, err := net.SplitHostPort(p.Agent); err != nil {
			bad("agent", "%q: want host:port, or none", p.Agent)
		}
	}
	tlsSet := p.AgentCA != "" || p.AgentCert != "" || p.AgentKey != ""
	if tlsSet && (p.AgentCA == "" || p.AgentCert == "" || p.AgentKey == "") {
		bad("agentCa", "mTLS to the agent needs agentCa, agentCert and agentKey together")
	}
	if err := checkPortRanges(p.RDMAPorts); err != nil {
		bad("rdmaPorts", "%v", err)
	}
	switch p.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("logLevel", "%q: want debug, info, warn or error", p.LogLevel)
	}
	switch p.LogFormat {
	case "", "text", "json":
	default:
		bad("logFormat", "%q: want text or json", p.LogFormat)
	}
	return errors.Join(errs...)
}

// checkPortRanges validates MCM's "a-b,c,d-e" syntax.
func checkPortRanges(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
			return fmt.Errorf("%q: want port or port-port within 1-65535", part)
		}
	}
	return nil
}

// MeshEnabled says whether the proxy joins a mesh: an agent address is
// set (not "none"). Whether it may, securely, is AgentTLS's or Insecure's.
func (p *Proxy) MeshEnabled() bool { return p.Agent != "" && p.Agent != "none" }

// AgentTLS says whether mTLS files for the agent are given.
func (p *Proxy) AgentTLS() bool { return p.AgentCA != "" }

// Redacted returns a copy safe to print.
func (p Proxy) Redacted() Proxy {
	if p.Token != "" {
		p.Token = "REDACTED"
	}
	return p
}

// SDKAddr is the TCP listen address of the SDK API.
func (p *Proxy) SDKAddr() string { return net.JoinHostPort(p.SDKIP, strconv.Itoa(p.SDKPort)) }
