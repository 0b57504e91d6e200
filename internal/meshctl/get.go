package meshctl

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mediamesh/internal/agent/rest"
)

// DefaultAgentURL is where meshctl finds mesh-agent's Control API.
const DefaultAgentURL = "http://127.0.0.1:8100"

// agentTimeout bounds one meshctl command's requests to the agent.
const agentTimeout = 10 * time.Second

// agentFlags are the flags of the commands that talk to the agent.
type agentFlags struct {
	agent, token, ca, config, output string
}

func (f *agentFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.agent, "agent", "", "mesh-agent Control API URL (default: the config file's agent, else "+DefaultAgentURL+")")
	fs.StringVar(&f.token, "token", "", "bearer token (default: $MEDIAMESH_AGENT_TOKEN, else the config file's token)")
	fs.StringVar(&f.ca, "ca", "", "CA certificate (PEM) of an https agent URL (default: the config file's ca, else the system's)")
	fs.StringVar(&f.config, "config", "", "config file (default: $XDG_CONFIG_HOME/mediamesh/meshctl.json or ~/.config/mediamesh/meshctl.json)")
	fs.StringVar(&f.output, "o", "table", "output: table or json")
}

// fileConfig is meshctl.json.
type fileConfig struct {
	Agent string `json:"agent"`
	Token string `json:"token"`
	CA    string `json:"ca"`
}

// resourcePath is the API path of what `get` lists, "" for no such thing.
func resourcePath(name string) string {
	switch name {
	case "proxies":
		return "/media-proxy"
	case "connections":
		return "/connection"
	case "groups":
		return "/multipoint-group"
	case "bridges":
		return "/bridge"
	}
	return ""
}

func runGet(ctx context.Context, env Env, args []string) error {
	var f agentFlags
	fs := newFlags(env, "get")
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: meshctl get proxies|connections|groups|bridges [-o table|json] [--agent URL] [--token T]")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || resourcePath(pos[0]) == "" {
		return fmt.Errorf("%w: want one of proxies, connections, groups, bridges", ErrUsage)
	}
	c, err := newAgentClient(env, f)
	if err != nil {
		return err
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	body, err := c.get(ctx, resourcePath(pos[0])+"?status&config")
	if err != nil {
		return err
	}
	if f.output == "json" {
		return writeIndented(env.Stdout, body)
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	switch pos[0] {
	case "proxies":
		var l rest.MediaProxyList
		if err := decodeBody(body, &l); err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tHEALTHY\tACTIVE\tCONTROL-IP\tBRIDGE-IP\tPORTS\tCONNS\tBRIDGES\tREGISTERED")
		for _, p := range l.MediaProxy {
			cfg, st := deref(p.Config), deref(p.Status)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", p.ID, yesNo(st.Healthy), yesNo(st.Active),
				dash(cfg.ControlplaneIPAddr), dash(cfg.RDMA.DataplaneIPAddr), dash(cfg.RDMA.DataplanePorts),
				st.ConnsNum, st.BridgesNum, when(st.RegisteredAt))
		}
	case "connections":
		var l rest.ConnectionList
		if err := decodeBody(body, &l); err != nil {
			return err
		}
		connTable(tw, l.Connection, true)
	case "groups":
		var l rest.MultipointGroupList
		if err := decodeBody(body, &l); err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tPAYLOAD\tSOURCE\tCONNS\tBRIDGES")
		for _, g := range l.MultipointGroup {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", g.ID, payload(g.Config), dash(g.SourceID), len(g.ConnIDs), len(g.BridgeIDs))
		}
	case "bridges":
		var l rest.BridgeList
		if err := decodeBody(body, &l); err != nil {
			return err
		}
		bridgeTable(tw, l.Bridge)
	}
	return tw.Flush()
}

func runDescribe(ctx context.Context, env Env, args []string) error {
	var f agentFlags
	fs := newFlags(env, "describe")
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: meshctl describe group URN [-o table|json] [--agent URL] [--token T]")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "group" {
		return fmt.Errorf("%w: want: describe group URN", ErrUsage)
	}
	id := pos[1]
	c, err := newAgentClient(env, f)
	if err != nil {
		return err
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	var d struct {
		Group       rest.MultipointGroup `json:"multipointGroup"`
		Connections []rest.Connection    `json:"connections"`
		Bridges     []rest.Bridge        `json:"bridges"`
	}
	// The group, then its members: the agent keeps no join of them, and
	// three reads of a registry that may change in between are as good as
	// one for a person reading them.
	var conns rest.ConnectionList
	var bridges rest.BridgeList
	for _, q := range []struct {
		path string
		v    any
	}{
		{"/multipoint-group/" + url.PathEscape(id) + "?config", &d.Group},
		{"/connection?status&config", &conns},
		{"/bridge?status&config", &bridges},
	} {
		body, gerr := c.get(ctx, q.path)
		if gerr == nil {
			gerr = decodeBody(body, q.v)
		}
		if gerr != nil {
			return gerr
		}
	}
	d.Group.ID = id
	d.Connections = slices.DeleteFunc(conns.Connection, func(cn rest.Connection) bool { return cn.GroupID != id })
	d.Bridges = slices.DeleteFunc(bridges.Bridge, func(b rest.Bridge) bool { return b.GroupID != id })
	if f.output == "json" {
		b, _ := json.Marshal(d)
		return writeIndented(env.Stdout, b)
	}
	g, cfg := d.Group, deref(d.Group.Config)
	source := "-"
	for _, cn := range d.Connections {
		if cn.ID == g.SourceID {
			source = cn.ID + " on " + cn.ProxyID
		}
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Group:\t%s\n", id)
	fmt.Fprintf(tw, "Payload:\t%s\n", payload(g.Config))
	fmt.Fprintf(tw, "Buffer:\t%d B payload, %d B metadata\n", cfg.CalculatedPayloadSize, cfg.MaxMetadataSize)
	fmt.Fprintf(tw, "Source:\t%s\n", source)
	fmt.Fprintf(tw, "Since:\t%s\n", when(deref(g.Status).RegisteredAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nConnections (%d):\n", len(d.Connections))
	if len(d.Connections) > 0 {
		connTable(tw, d.Connections, false)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "\nBridges (%d):\n", len(d.Bridges))
	if len(d.Bridges) > 0 {
		bridgeTable(tw, d.Bridges)
	}
	return tw.Flush()
}

func connTable(tw io.Writer, conns []rest.Connection, group bool) {
	head := "ID\tPROXY\tROLE\tGROUP\tPAYLOAD\tSTATE\tLINKED\tIN\tOUT\tERRORS"
	if !group {
		head = strings.Replace(head, "GROUP\tPAYLOAD\t", "", 1)
	}
	fmt.Fprintln(tw, head)
	for _, c := range conns {
		cfg, st := deref(c.Config), deref(c.Status)
		role := "receiver" // MCM's "tx": the proxy transmits to it
		if cfg.Kind == "rx" {
			role = "sender"
		}
		cols := []string{c.ID, dash(c.ProxyID), role}
		if group {
			cols = append(cols, c.GroupID, payload(&cfg.SDKConfig))
		}
		cols = append(cols, dash(st.State), yesNo(st.Linked), num(st.Inbound), num(st.Outbound), num(st.Errors))
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
}

func bridgeTable(tw io.Writer, bridges []rest.Bridge) {
	fmt.Fprintln(tw, "ID\tPROXY\tGROUP\tKIND\tREMOTE\tPEER\tSTATE\tIN\tOUT")
	for _, b := range bridges {
		cfg, st := deref(b.Config), deref(b.Status)
		kind, remote, peer := cfg.Kind, "-", "-"
		switch cfg.Kind {
		case "tx":
			kind = "egress"
		case "rx":
			kind = "ingress"
		}
		if cfg.TCP != nil {
			remote, peer = cfg.TCP.RemoteAddr, cfg.TCP.PeerProxyID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", b.ID, dash(b.ProxyID), b.GroupID, kind, remote, peer,
			dash(st.State), st.Inbound, st.Outbound)
	}
}

// payload names a config's payload in a few words.
func payload(c *rest.SDKConfig) string {
	switch {
	case c == nil:
		return "-"
	case c.Payload.Video != nil:
		v := c.Payload.Video
		return fmt.Sprintf("video %dx%d@%s %s", v.Width, v.Height, strconv.FormatFloat(v.FPS, 'f', -1, 64), v.PixelFormat)
	case c.Payload.Audio != nil:
		a := c.Payload.Audio
		return fmt.Sprintf("audio %dch %s %s %s", a.Channels, a.SampleRate, a.Format, a.PacketTime)
	case c.Payload.Blob != nil:
		return fmt.Sprintf("blob %d B", c.MaxPayloadSize)
	}
	return "-"
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func num(v uint64) string { return strconv.FormatUint(v, 10) }

func when(t rest.Time) string {
	if time.Time(t).IsZero() {
		return "-"
	}
	return time.Time(t).UTC().Format(rest.TimeLayout)
}

// parseInterleaved parses flags wherever they stand among args and
// returns the other arguments in order (`get proxies -o json`).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// agentClient talks to mesh-agent's Control API.
type agentClient struct {
	base  string // without a trailing slash
	token string
	http  *http.Client
	tr    *http.Transport
}

// newAgentClient resolves the agent, token and CA: flags, then the
// environment (the token), then the config file, then the defaults.
func newAgentClient(env Env, f agentFlags) (*agentClient, error) {
	if f.output != "table" && f.output != "json" {
		return nil, fmt.Errorf("%w: -o %q: want table or json", ErrUsage, f.output)
	}
	fc, err := loadFileConfig(env, f.config)
	if err != nil {
		return nil, err
	}
	base := first(f.agent, fc.Agent, DefaultAgentURL)
	token := first(f.token, env.Getenv("MEDIAMESH_AGENT_TOKEN"), fc.Token)
	ca := first(f.ca, fc.CA)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: agent URL %q: want http(s)://host:port", ErrUsage, base)
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	if ca != "" {
		pem, rerr := os.ReadFile(ca)
		if rerr != nil {
			return nil, rerr
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", ca)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if token != "" && u.Scheme == "http" && !loopback(u.Hostname()) {
		fmt.Fprintf(env.Stderr, "meshctl: warning: the token goes in plaintext to %s; use https\n", u.Host)
	}
	return &agentClient{base: strings.TrimSuffix(base, "/"), token: token, http: &http.Client{Transport: tr}, tr: tr}, nil
}

func (c *agentClient) close() { c.tr.CloseIdleConnections() }

// get fetches Prefix+path and returns the body of a 200; any other answer
// is an error carrying the agent's message.
func (c *agentClient) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+rest.Prefix+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e rest.Error
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			return nil, fmt.Errorf("agent: %d %s", resp.StatusCode, e.Error.Message)
		}
		return nil, fmt.Errorf("agent: %s: %.200q", resp.Status, body)
	}
	return body, nil
}

func decodeBody(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("agent: bad response: %w", err)
	}
	return nil
}

func writeIndented(w io.Writer, body []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(body), "", "  "); err != nil {
		return fmt.Errorf("agent: bad response: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// loadFileConfig reads meshctl.json: the named file, which must exist, or
// the default one, which may not. Unknown keys are errors, so that a typo
// does not fall back to a default.
func loadFileConfig(env Env, file string) (fileConfig, error) {
	var fc fileConfig
	if file == "" {
		dir := env.Getenv("XDG_CONFIG_HOME")
		if dir == "" {
			if home := env.Getenv("HOME"); home != "" {
				dir = filepath.Join(home, ".config")
			}
		}
		if dir == "" {
			return fc, nil
		}
		file = filepath.Join(dir, "mediamesh", "meshctl.json")
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			return fc, nil
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fc, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return fc, fmt.Errorf("%s: %w", file, err)
	}
	if fi, err := os.Stat(file); err == nil && fc.Token != "" && fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(env.Stderr, "meshctl: warning: %s holds a token and is readable by others (chmod 600 it)\n", file)
	}
	return fc, nil
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
