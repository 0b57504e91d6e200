package rest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"mediamesh/internal/agent"
)

// Prefix is where the versioned API lives (STYLE.md §14); every route but
// healthz and the document is also served without it, at MCM's paths.
const Prefix = "/api/v1"

// Limits on requests.
const (
	// MaxBody bounds a request body.
	MaxBody = 1 << 20
	// MinTokenLen is the shortest bearer token accepted: a guessable one
	// is no better than none.
	MinTokenLen = 16
)

// ErrInvalid reports a bad Config.
var ErrInvalid = errors.New("rest: invalid config")

// Config configures the Control API. Zero values mean the defaults.
type Config struct {
	// Token is the bearer token every request but GET /api/v1/healthz
	// must carry ("Authorization: Bearer <token>"): printable ASCII
	// without spaces, at least MinTokenLen bytes. Required unless
	// Insecure.
	Token string
	// Insecure serves without a token when Token is empty: anyone who
	// reaches the port may delete proxies. A lab choice; New logs a
	// warning.
	Insecure bool
	// CORSOrigins are the browser origins ("https://ui.example:8443")
	// allowed to call the API; none (the default) sends no CORS headers.
	// A wildcard is refused: MCM's "*" with credentials let any web page
	// drive the mesh (mcm-api.md §8 #2).
	CORSOrigins []string
}

// API is the Control API's configuration, validated; Handler binds it to
// an agent.
type API struct {
	cfg     Config
	log     *slog.Logger
	token   [sha256.Size]byte // of cfg.Token: compared in constant time
	origins map[string]bool
}

// New validates cfg. It starts nothing: the agent serves Handler.
func New(cfg Config, log *slog.Logger) (*API, error) {
	var errs []error
	switch {
	case cfg.Token == "" && !cfg.Insecure:
		errs = append(errs, fmt.Errorf("%w: a bearer token is required unless insecure", ErrInvalid))
	case cfg.Token != "" && len(cfg.Token) < MinTokenLen:
		errs = append(errs, fmt.Errorf("%w: token is %d bytes, want at least %d", ErrInvalid, len(cfg.Token), MinTokenLen))
	case strings.IndexFunc(cfg.Token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		errs = append(errs, fmt.Errorf("%w: token must be printable ASCII without spaces", ErrInvalid))
	}
	api := &API{cfg: cfg, log: log.With("component", "rest"), token: sha256.Sum256([]byte(cfg.Token)), origins: map[string]bool{}}
	for _, o := range cfg.CORSOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(u.Host, "*") ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("%w: CORS origin %q: want scheme://host[:port], no wildcard", ErrInvalid, o))
			continue
		}
		api.origins[o] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Insecure && cfg.Token == "" {
		api.log.Warn("Control API without a token (insecure): anyone who reaches it can read and change the mesh")
	}
	return api, nil
}

// registry is what the handlers need of the agent.
type registry interface {
	Snapshot(ctx context.Context) (*agent.Snapshot, error)
	UnregisterProxy(ctx context.Context, id string) error
	UnregisterConnection(ctx context.Context, proxyID, connID string) error
	Debug(ctx context.Context, proxyID, text string) (string, error)
	Done() <-chan struct{}
}

var _ registry = (*agent.Agent)(nil)

// route is one endpoint; the OpenAPI document lists exactly these.
type route struct {
	method, path string // path without Prefix
	handle       http.HandlerFunc
	// versioned routes are only served under Prefix, not at MCM's paths.
	versioned bool
	// public routes need no token.
	public bool
}

// handler serves the API of one agent.
type handler struct {
	api    *API
	reg    registry
	mux    *http.ServeMux
	routes []route
}

// Handler returns the Control API of a, for agent.Config.REST.
func (api *API) Handler(a *agent.Agent) http.Handler { return api.handler(a) }

func (api *API) handler(reg registry) *handler {
	h := &handler{api: api, reg: reg, mux: http.NewServeMux()}
	h.routes = []route{
		{method: "GET", path: "/healthz", handle: h.healthz, versioned: true, public: true},
		{method: "GET", path: "/openapi.yaml", handle: h.openapi, versioned: true},
		{method: "GET", path: "/media-proxy", handle: h.listProxies},
		{method: "GET", path: "/media-proxy/{id}", handle: h.getProxy},
		{method: "DELETE", path: "/media-proxy/{id}", handle: h.deleteProxy},
		{method: "GET", path: "/media-proxy/{id}/command/{cmd}", handle: h.commandMCM},
		{method: "POST", path: "/media-proxy/{id}/command", handle: h.command},
		{method: "GET", path: "/connection", handle: h.listConns},
		{method: "GET", path: "/connection/{id}", handle: h.getConn},
		{method: "DELETE", path: "/connection/{id}", handle: h.deleteConn},
		{method: "GET", path: "/multipoint-group", handle: h.listGroups},
		{method: "GET", path: "/multipoint-group/{id}", handle: h.getGroup},
		{method: "GET", path: "/bridge", handle: h.listBridges},
		{method: "GET", path: "/bridge/{id}", handle: h.getBridge},
	}
	for _, r := range h.routes {
		h.mux.HandleFunc(r.method+" "+Prefix+r.path, r.handle)
		if !r.versioned {
			h.mux.HandleFunc(r.method+" "+r.path, r.handle)
		}
	}
	return h
}

// ServeHTTP answers CORS preflights, checks the token, then routes; the
// mux's own answers (no route, wrong method) become JSON errors too.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cors(w, r) {
		return
	}
	if !h.public(r) {
		if msg := h.authorize(r); msg != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mesh-agent"`)
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
	}
	mh, pattern := h.mux.Handler(r)
	if pattern != "" {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h.mux.ServeHTTP(w, r)
		return
	}
	// No pattern: the mux would answer 404, 405 (with Allow) or a
	// redirect to the clean path, in text. Keep its status and headers,
	// say it in JSON.
	c := &capture{header: http.Header{}}
	mh.ServeHTTP(c, r)
	for _, k := range []string{"Allow", "Location"} {
		if v := c.header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	switch c.code {
	case http.StatusMethodNotAllowed:
		writeError(w, c.code, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, c.header.Get("Allow")))
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		w.WriteHeader(c.code) // to the clean path; the client repeats there
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such path: %s", r.URL.Path))
	}
}

// public reports whether r may go without a token: the health check, so
// that probes need no secret.
func (h *handler) public(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	for _, rt := range h.routes {
		if rt.public && r.URL.Path == Prefix+rt.path {
			return true
		}
	}
	return false
}

// authorize returns why r is refused, "" if it may pass. The token is
// compared as a hash in constant time, so neither its bytes nor its length
// leak through timing.
func (h *handler) authorize(r *http.Request) string {
	if h.api.cfg.Token == "" {
		return "" // insecure, warned about in New
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "missing bearer token (Authorization: Bearer <token>)"
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	if subtle.ConstantTimeCompare(sum[:], h.api.token[:]) != 1 {
		return "invalid bearer token"
	}
	return ""
}

// cors adds CORS headers for a listed origin and answers its preflight;
// it reports whether the request is done. Other origins get nothing, and
// their browsers refuse the response.
func (h *handler) cors(w http.ResponseWriter, r *http.Request) bool {
	if len(h.api.origins) == 0 {
		return false
	}
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !h.api.origins[origin] {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	// A preflight carries no credentials: it is answered before the token
	// check, and says only which methods and headers may follow.
	w.Header().Set("Access-Control-Allow-Methods", strings.Join(h.methods(), ", "))
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// methods lists the methods of the routes.
func (h *handler) methods() []string {
	set := map[string]bool{}
	for _, r := range h.routes {
		set[r.method] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// capture records the mux's answer for a request it has no route for.
type capture struct {
	header http.Header
	code   int
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return len(b), nil
}

func (c *capture) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}
