package agent

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	agentv1 "mediamesh/api/agent/v1"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		topo     *topo
		want     map[string][]string
		problems []string
	}{
		{"empty proxy gets an empty config (tear everything down)",
			newTopo().proxy("A", 1, ""),
			map[string][]string{"A": {}}, nil},
		{"one node: local fan-out, no bridge",
			newTopo().proxy("A", 1, "").
				conn("s", "A", videoCfg(sender, "g")).conn("r1", "A", videoCfg(receiver, "g")).conn("r2", "A", videoCfg(receiver, "g")),
			map[string][]string{"A": {"g: r1 r2 s"}}, nil},
		{"sender on A, receivers on A, B (two) and C: one copy per node",
			newTopo().proxy("A", 1, "").proxy("B", 2, "").proxy("C", 3, "").
				conn("s", "A", videoCfg(sender, "g")).conn("ra", "A", videoCfg(receiver, "g")).
				conn("rb1", "B", videoCfg(receiver, "g")).conn("rb2", "B", videoCfg(receiver, "g")).
				conn("rc", "C", videoCfg(receiver, "g")),
			map[string][]string{
				"A": {"g: ra s | ->10.0.0.2:9100 ->10.0.0.3:9100"},
				"B": {"g: rb1 rb2 | <-10.0.0.1:9100"},
				"C": {"g: rc | <-10.0.0.1:9100"},
			}, nil},
		{"two groups into one node take the lowest free ports, in group order",
			newTopo().proxy("A", 1, "").proxy("B", 2, "7000-7001,5000").
				conn("s2", "A", blobCfg(sender, "g2", 64)).conn("s1", "A", videoCfg(sender, "g1")).
				conn("r1", "B", videoCfg(receiver, "g1")).conn("r2", "B", blobCfg(receiver, "g2", 64)),
			map[string][]string{
				"A": {"g1: s1 | ->10.0.0.2:5000", "g2: s2 | ->10.0.0.2:7000"},
				"B": {"g1: r1 | <-10.0.0.1:5000", "g2: r2 | <-10.0.0.1:7000"},
			}, nil},
		{"a node both sends and receives",
			newTopo().proxy("A", 1, "").proxy("B", 2, "").
				conn("sa", "A", videoCfg(sender, "ga")).conn("rb", "B", videoCfg(receiver, "ga")).
				conn("sb", "B", videoCfg(sender, "gb")).conn("ra", "A", videoCfg(receiver, "gb")),
			map[string][]string{
				"A": {"ga: sa | ->10.0.0.2:9100", "gb: ra | <-10.0.0.2:9100"},
				"B": {"ga: rb | <-10.0.0.1:9100", "gb: sb | ->10.0.0.1:9100"},
			}, nil},
		{"receivers without a sender: groups, no bridges",
			newTopo().proxy("A", 1, "").proxy("B", 2, "").
				conn("ra", "A", videoCfg(receiver, "g")).conn("rb", "B", videoCfg(receiver, "g")),
			map[string][]string{"A": {"g: ra"}, "B": {"g: rb"}}, nil},
		{"an unhealthy receiver node gets no config and no bridge",
			func() *topo {
				tp := newTopo().proxy("A", 1, "").proxy("B", 2, "").proxy("C", 3, "").
					conn("s", "A", videoCfg(sender, "g")).conn("rb", "B", videoCfg(receiver, "g")).conn("rc", "C", videoCfg(receiver, "g"))
				tp.s.Proxies["C"].Healthy = false
				return tp
			}(),
			map[string][]string{"A": {"g: s | ->10.0.0.2:9100"}, "B": {"g: rb | <-10.0.0.1:9100"}}, nil},
		{"an unhealthy source: receivers keep their group, no bridges",
			func() *topo {
				tp := newTopo().proxy("A", 1, "").proxy("B", 2, "").
					conn("s", "A", videoCfg(sender, "g")).conn("rb", "B", videoCfg(receiver, "g"))
				tp.s.Proxies["A"].Healthy = false
				return tp
			}(),
			map[string][]string{"B": {"g: rb"}}, nil},
		{"ST 2110 groups span nodes without bridges (each proxy is on the network)",
			newTopo().proxy("A", 1, "").proxy("B", 2, "").
				conn("s", "A", st2110Cfg(sender, "239.1.1.1", 5004)).conn("rb", "B", st2110Cfg(receiver, "239.1.1.1", 5004)),
			map[string][]string{"A": {"239.1.1.1:5004: s"}, "B": {"239.1.1.1:5004: rb"}}, nil},
		{"no -r address: peers use the control-plane address",
			func() *topo {
				tp := newTopo().proxy("A", 1, "").proxy("B", 2, "").
					conn("s", "A", videoCfg(sender, "g")).conn("rb", "B", videoCfg(receiver, "g"))
				tp.s.Proxies["A"].BridgeIP, tp.s.Proxies["B"].BridgeIP = "", ""
				return tp
			}(),
			map[string][]string{"A": {"g: s | ->192.168.0.2:9100"}, "B": {"g: rb | <-192.168.0.1:9100"}}, nil},
		{"ports exhausted: the pair is left out and reported",
			newTopo().proxy("A", 1, "").proxy("B", 2, "6000").
				conn("s1", "A", videoCfg(sender, "g1")).conn("s2", "A", blobCfg(sender, "g2", 64)).
				conn("r1", "B", videoCfg(receiver, "g1")).conn("r2", "B", blobCfg(receiver, "g2", 64)),
			map[string][]string{"A": {"g1: s1 | ->10.0.0.2:6000", "g2: s2"}, "B": {"g1: r1 | <-10.0.0.1:6000", "g2: r2"}},
			[]string{`group "g2" to proxy B: no free port in 6000`}},
		{"IPv6 bridge addresses",
			func() *topo {
				tp := newTopo().proxy("A", 1, "").proxy("B", 2, "").
					conn("s", "A", videoCfg(sender, "g")).conn("rb", "B", videoCfg(receiver, "g"))
				tp.s.Proxies["A"].BridgeIP, tp.s.Proxies["B"].BridgeIP = "fd00::1", "fd00::2"
				return tp
			}(),
			map[string][]string{"A": {"g: s | ->[fd00::2]:9100"}, "B": {"g: rb | <-[fd00::1]:9100"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bridges, errs := PlanBridges(tc.topo.s)
			var problems []string
			for _, e := range errs {
				problems = append(problems, e.Error())
			}
			if !reflect.DeepEqual(problems, tc.problems) {
				t.Errorf("problems = %q, want %q", problems, tc.problems)
			}
			got := summary(Configs(tc.topo.s, bridges))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan:\n got %q\nwant %q", got, tc.want)
			}
			// Replanning with the planned bridges stored changes nothing.
			plan1 := Configs(tc.topo.s, bridges)
			tc.topo.s.Bridges = bridges
			if plan2 := Plan(tc.topo.s); !equalPlans(plan1, plan2) {
				t.Errorf("replan differs:\n%v\n%v", plan1, plan2)
			}
		})
	}
}

func equalPlans(a, b map[string]*agentv1.ApplyConfigRequest) bool {
	if len(a) != len(b) {
		return false
	}
	for id, c := range a {
		if !proto.Equal(c, b[id]) {
			return false
		}
	}
	return true
}

// TestPlanBridgeFields checks one pair in full: ids, kinds, token, the
// source's config.
func TestPlanBridgeFields(t *testing.T) {
	t.Parallel()
	tp := newTopo().proxy("A", 1, "").proxy("B", 2, "").
		conn("r", "B", videoCfg(receiver, "g")).conn("s", "A", videoCfg(sender, "g"))
	tp.s.Secret = []byte("k")
	plan := Plan(tp.s)
	eg, in := plan["A"].GetBridges(), plan["B"].GetBridges()
	if len(eg) != 1 || len(in) != 1 {
		t.Fatalf("bridges %v / %v", eg, in)
	}
	e, i := eg[0], in[0]
	switch {
	case e.GetType() != BridgeTypeTCP || i.GetType() != BridgeTypeTCP:
		t.Errorf("types %q %q", e.GetType(), i.GetType())
	case e.GetKind() != KindTx || i.GetKind() != KindRx:
		t.Errorf("kinds %q %q", e.GetKind(), i.GetKind())
	case e.GetBridgeId() == i.GetBridgeId():
		t.Errorf("both sides have id %s", e.GetBridgeId())
	case e.GetTcp().GetToken() == "" || e.GetTcp().GetToken() != i.GetTcp().GetToken():
		t.Errorf("tokens %q %q", e.GetTcp().GetToken(), i.GetTcp().GetToken())
	case !proto.Equal(e.GetConnConfig(), tp.s.Conns["s"].Config) || !proto.Equal(i.GetConnConfig(), tp.s.Conns["s"].Config):
		t.Errorf("conn_config is not the source's")
	}
	if g := plan["A"].GetGroups()[0]; g.GetGroupId() != "g/A" || !reflect.DeepEqual(g.GetBridgeIds(), []string{e.GetBridgeId()}) {
		t.Errorf("group %v", g)
	}
	// Another secret, another token; the same ids.
	tp.s.Secret = []byte("other")
	again := Plan(tp.s)
	if again["A"].GetBridges()[0].GetTcp().GetToken() == e.GetTcp().GetToken() || again["A"].GetBridges()[0].GetBridgeId() != e.GetBridgeId() {
		t.Errorf("token should follow the secret, ids should not")
	}
	// A changed address changes the ids: proxies never see a changed config under an old id.
	tp.s.Proxies["B"].BridgeIP = "10.9.9.9"
	if moved := Plan(tp.s); moved["A"].GetBridges()[0].GetBridgeId() == e.GetBridgeId() {
		t.Errorf("bridge id kept across an address change")
	}
}

// TestPlanPortsStable: an existing bridge keeps its port when others come
// and go; a new one takes the lowest free.
func TestPlanPortsStable(t *testing.T) {
	t.Parallel()
	tp := newTopo().proxy("A", 1, "").proxy("B", 2, "").
		conn("s1", "A", videoCfg(sender, "g1")).conn("r1", "B", videoCfg(receiver, "g1")).
		conn("s2", "A", blobCfg(sender, "g2", 64)).conn("r2", "B", blobCfg(receiver, "g2", 64))
	tp.s.Bridges, _ = PlanBridges(tp.s)
	if got := summary(Plan(tp.s))["B"]; !reflect.DeepEqual(got, []string{"g1: r1 | <-10.0.0.1:9100", "g2: r2 | <-10.0.0.1:9101"}) {
		t.Fatalf("B = %q", got)
	}
	// g1 goes: g2 keeps 9101.
	delete(tp.s.Conns, "r1")
	tp.s.Bridges, _ = PlanBridges(tp.s)
	if got := summary(Plan(tp.s))["B"]; !reflect.DeepEqual(got, []string{"g2: r2 | <-10.0.0.1:9101"}) {
		t.Fatalf("B = %q", got)
	}
	// g3 comes: it takes the freed 9100; g2 still 9101.
	tp.conn("s3", "A", blobCfg(sender, "g3", 128)).conn("r3", "B", blobCfg(receiver, "g3", 128))
	tp.s.Bridges, _ = PlanBridges(tp.s)
	if got := summary(Plan(tp.s))["B"]; !reflect.DeepEqual(got, []string{"g2: r2 | <-10.0.0.1:9101", "g3: r3 | <-10.0.0.1:9100"}) {
		t.Fatalf("B = %q", got)
	}
}

// TestPlanLastReceiverLeaves: the node's bridge pair goes with its last
// receiver, and not before.
func TestPlanLastReceiverLeaves(t *testing.T) {
	t.Parallel()
	tp := newTopo().proxy("A", 1, "").proxy("B", 2, "").proxy("C", 3, "").
		conn("s", "A", videoCfg(sender, "g")).conn("rb1", "B", videoCfg(receiver, "g")).
		conn("rb2", "B", videoCfg(receiver, "g")).conn("rc", "C", videoCfg(receiver, "g"))
	tp.s.Bridges, _ = PlanBridges(tp.s)
	before := Plan(tp.s)
	delete(tp.s.Conns, "rb1")
	mid := Plan(tp.s)
	if !proto.Equal(before["A"], mid["A"]) || !proto.Equal(before["C"], mid["C"]) {
		t.Errorf("one of two receivers leaving B changed A's or C's config")
	}
	delete(tp.s.Conns, "rb2")
	tp.s.Bridges, _ = PlanBridges(tp.s)
	after := summary(Plan(tp.s))
	want := map[string][]string{"A": {"g: s | ->10.0.0.3:9100"}, "B": {}, "C": {"g: rc | <-10.0.0.1:9100"}}
	if !reflect.DeepEqual(after, want) {
		t.Errorf("after B's last receiver left:\n got %q\nwant %q", after, want)
	}
	if len(tp.s.Bridges) != 2 {
		t.Errorf("%d bridges, want C's pair only", len(tp.s.Bridges))
	}
}

// TestPlanDeterministic builds the same registry in different orders.
func TestPlanDeterministic(t *testing.T) {
	t.Parallel()
	base := bigState(200, 10)
	want := Plan(base)
	for i := range 5 {
		s := NewState()
		r := rand.New(rand.NewPCG(uint64(i), 1))
		for _, id := range r.Perm(len(base.Proxies)) {
			p := base.Proxies[fmt.Sprintf("p%02d", id)]
			s.Proxies[p.ID] = p
		}
		for _, id := range r.Perm(len(base.Conns)) {
			c := base.Conns[fmt.Sprintf("c%04d", id)]
			s.Conns[c.ID] = c
		}
		if got := Plan(s); !equalPlans(got, want) {
			t.Fatalf("order %d gave another plan", i)
		}
	}
}

// bigState spreads conns connections over proxies proxies: groups of 10,
// each with its sender on one proxy and receivers on the next four.
func bigState(conns, proxies int) *State {
	tp := newTopo()
	for p := range proxies {
		tp.proxy(fmt.Sprintf("p%02d", p), p+1, "")
	}
	for i := range conns {
		g := i / 10
		kind, proxy := receiver, (g+1+i%4)%proxies
		if i%10 == 0 {
			kind, proxy = sender, g%proxies
		}
		tp.conn(fmt.Sprintf("c%04d", i), fmt.Sprintf("p%02d", proxy), videoCfg(kind, fmt.Sprintf("urn:g%03d", g)))
	}
	return tp.s
}

// BenchmarkPlan is the target: reconcile 1,000 connections over 50
// proxies (≤ 1 s; this is well under).
func BenchmarkPlan(b *testing.B) {
	s := bigState(1000, 50)
	s.Bridges, _ = PlanBridges(s)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n = len(Plan(s))
	}
	if n != 50 {
		b.Fatalf("%d configs", n)
	}
	bridges := 0
	for _, c := range Plan(s) {
		bridges += len(c.GetBridges())
	}
	b.ReportMetric(float64(bridges), "bridges")
}

func TestParsePorts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want []portRange
		err  string
	}{
		{"9100-9999", []portRange{{9100, 9999}}, ""},
		{"7000,5000-5001, 6000", []portRange{{5000, 5001}, {6000, 6000}, {7000, 7000}}, ""},
		{"", nil, "empty"},
		{"0", nil, "want 1-65535"},
		{"65536", nil, "want 1-65535"},
		{"9-8", nil, "descending"},
		{"a-b", nil, "want 1-65535"},
		{strings.Repeat("1,", 64) + "1", nil, "at most 64"},
	}
	for _, tc := range cases {
		got, err := parsePorts(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parsePorts(%q) err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parsePorts(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// BenchmarkEvent is one registry event with 1,000 connections over 50
// proxies loaded: a receiver joins and leaves through the Proxy API
// handlers, each a replan, a store transaction (fsync off) and the pushes.
func BenchmarkEvent(b *testing.B) {
	s := bigState(1000, 50)
	a, err := New(Config{GRPCAddr: "127.0.0.1:0", DataDir: b.TempDir(), Insecure: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	a.noSync = true
	if err := a.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	api := &proxyAPI{a: a}
	for _, id := range sortedKeys(s.Proxies) {
		if _, err := a.registerProxy(b.Context(), id, *s.Proxies[id]); err != nil {
			b.Fatal(err)
		}
	}
	for _, id := range sortedKeys(s.Conns) {
		c := s.Conns[id]
		if _, err := api.RegisterConnection(b.Context(), &agentv1.RegisterConnectionRequest{ProxyId: c.ProxyID, Kind: c.Kind, Config: c.Config, ConnId: id}); err != nil {
			b.Fatal(err)
		}
	}
	join := &agentv1.RegisterConnectionRequest{ProxyId: "p49", Kind: KindTx, Config: videoCfg(receiver, "urn:g000")}
	b.ReportAllocs()
	for b.Loop() {
		r, err := api.RegisterConnection(b.Context(), join)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.UnregisterConnection(b.Context(), "p49", r.GetConnId()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/event")
}

// TestSameConfig: the fast comparison agrees with proto.Equal.
func TestSameConfig(t *testing.T) {
	t.Parallel()
	s := bigState(100, 5)
	s.Bridges, _ = PlanBridges(s)
	base := Plan(s)["p01"]
	if len(base.GetBridges()) == 0 || len(base.GetGroups()) == 0 {
		t.Fatal("no bridges to compare")
	}
	mutations := map[string]func(c *agentv1.ApplyConfigRequest){
		"none":           func(*agentv1.ApplyConfigRequest) {},
		"config copied":  func(c *agentv1.ApplyConfigRequest) { c.Bridges[0].ConnConfig = proto.CloneOf(c.Bridges[0].ConnConfig) },
		"config changed": func(c *agentv1.ApplyConfigRequest) { c.Bridges[0].ConnConfig = videoCfg(receiver, "x") },
		"token":          func(c *agentv1.ApplyConfigRequest) { c.Bridges[0].GetTcp().Token = "t" },
		"kind":           func(c *agentv1.ApplyConfigRequest) { c.Bridges[0].Kind = "?" },
		"bridge gone":    func(c *agentv1.ApplyConfigRequest) { c.Bridges = c.Bridges[1:] },
		"conn id":        func(c *agentv1.ApplyConfigRequest) { c.Groups[0].ConnIds[0] = "?" },
		"group id":       func(c *agentv1.ApplyConfigRequest) { c.Groups[0].GroupId = "?" },
		"bridge id in g": func(c *agentv1.ApplyConfigRequest) { c.Groups[0].BridgeIds = append(c.Groups[0].BridgeIds, "?") },
		"group gone":     func(c *agentv1.ApplyConfigRequest) { c.Groups = nil },
		"st2110 instead": func(c *agentv1.ApplyConfigRequest) {
			c.Bridges[0].Config = &agentv1.Bridge_St2110{St2110: &agentv1.BridgeST2110{}}
		},
	}
	for name, mutate := range mutations {
		other := Plan(s)["p01"]
		// Plan shares connection configs, as the agent's plans do.
		mutate(other)
		if got, want := sameConfig(base, other), proto.Equal(base, other); got != want {
			t.Errorf("%s: sameConfig %v, proto.Equal %v", name, got, want)
		}
	}
}

// The two ends of one ST 2110 stream have their own buffers: a receiver's
// metadata (its FrameInfo) need not match the sender's. Group members
// share one layout, metadata included.
func TestCompatibleMetadata(t *testing.T) {
	tx, rx := st2110Cfg(sender, "127.0.0.1", 20000), st2110Cfg(receiver, "127.0.0.1", 20000)
	rx.MaxMetadataSize = 32
	if err := compatible(rx, tx); err != nil {
		t.Errorf("st2110 ends: %v", err)
	}
	g, m := videoCfg(sender, "g"), videoCfg(receiver, "g")
	m.MaxMetadataSize = 32
	if err := compatible(g, m); err == nil {
		t.Error("group members with different metadata sizes accepted")
	}
}
