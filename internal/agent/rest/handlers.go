package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"

	"mediamesh/api/openapi"
	"mediamesh/internal/agent"
)

const (
	// commandTimeout bounds a debug command: the reply must be written
	// within the server's write timeout (10 s, agent.go), which MCM's
	// 10 s command wait (agent.DebugTimeout) would reach.
	commandTimeout = 5 * time.Second
	// maxCommandLen bounds a debug command's text.
	maxCommandLen = 4096
)

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-h.reg.Done():
		writeError(w, http.StatusServiceUnavailable, "agent is shutting down")
	default:
		writeJSON(w, Health{Status: "ok"})
	}
}

func (h *handler) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = io.WriteString(w, openapi.Agent())
}

// flags reads MCM's query flags, which act when present, whatever their
// value (even "false").
func flags(r *http.Request) (status, config bool) {
	q := r.URL.Query()
	return q.Has("status"), q.Has("config")
}

// snapshot reads the agent's state for one request.
func (h *handler) snapshot(w http.ResponseWriter, r *http.Request) *agent.Snapshot {
	s, err := h.reg.Snapshot(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return nil
	}
	return s
}

func (h *handler) listProxies(w http.ResponseWriter, r *http.Request) {
	s := h.snapshot(w, r)
	if s == nil {
		return
	}
	status, config := flags(r)
	v := view{s: s, status: status, config: config}.indexed()
	out := MediaProxyList{MediaProxy: []MediaProxy{}}
	for _, id := range sortedKeys(s.Proxies) {
		out.MediaProxy = append(out.MediaProxy, v.proxy(s.Proxies[id]))
	}
	writeJSON(w, out)
}

func (h *handler) getProxy(w http.ResponseWriter, r *http.Request) {
	s := h.snapshot(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	p := s.Proxies[id]
	if p == nil {
		h.fail(w, r, notFound("proxy", id))
		return
	}
	_, config := flags(r)
	out := view{s: s, status: true, config: config}.indexed().proxy(p)
	out.ID = "" // the path says it (as MCM)
	writeJSON(w, out)
}

func (h *handler) deleteProxy(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.reg.UnregisterProxy(r.Context(), id); err != nil {
		if errors.Is(err, agent.ErrNotFound) {
			err = notFound("proxy", id)
		}
		h.fail(w, r, err)
	}
	// 200 with an empty body, as MCM.
}

// commandMCM is MCM's debug link: the text in the path, the reply as
// text.
func (h *handler) commandMCM(w http.ResponseWriter, r *http.Request) {
	out, err := h.debug(r, r.PathValue("id"), r.PathValue("cmd"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, out+"\n")
}

// command is the debug command as JSON in and out.
func (h *handler) command(w http.ResponseWriter, r *http.Request) {
	var c Command
	if err := decode(r, &c); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.debug(r, r.PathValue("id"), c.Text)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, Command{Text: out})
}

func (h *handler) debug(r *http.Request, id, text string) (string, error) {
	switch {
	case text == "":
		return "", badRequest("command text is empty")
	case len(text) > maxCommandLen:
		return "", badRequest(fmt.Sprintf("command text is %d bytes, at most %d", len(text), maxCommandLen))
	case text == "apply-config":
		// MCM's sends an ApplyConfig without groups, which tears the
		// proxy's groups down; mediamesh's agent pushes full configs itself.
		return "", badRequest("apply-config is not served: the agent pushes each proxy its full config whenever it changes")
	}
	s, err := h.reg.Snapshot(r.Context())
	if err != nil {
		return "", err
	}
	if s.Proxies[id] == nil {
		return "", notFound("proxy", id)
	}
	ctx, cancel := context.WithTimeout(r.Context(), commandTimeout)
	defer cancel()
	return h.reg.Debug(ctx, id, text)
}

func (h *handler) listConns(w http.ResponseWriter, r *http.Request) {
	s := h.snapshot(w, r)
	if s == nil {
		return
	}
	status, config := flags(r)
	v := view{s: s, status: status, config: config}
	out := ConnectionList{Connection: []Connection{}}
	for _, id := range sortedKeys(s.Conns) {
		out.Connection = append(out.Connection, v.conn(s.Conns[id]))
	}
	writeJSON(w, out)
}

func (h *handler) getConn(w http.ResponseWriter, r *http.Request) {
	s := h.snapshot(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	c := s.Conns[id]
	if c == nil {
		h.fail(w, r, notFound("connection", id))
		return
	}
	_, config := flags(r)
	out := view{s: s, status: true, config: config}.conn(c)
	out.ID = ""
	writeJSON(w, out)
}

func (h *handler) deleteConn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.reg.UnregisterConnection(r.Context(), "", id); err != nil {
		if errors.Is(err, agent.ErrNotFound) {
			err = notFound("connection", id)
		}
		h.fail(w, r, err)
	}
}

func (h *handler) listGroups(w http.ResponseWriter, r *http.Request) {
	s := h.snapshot(w, r)
	if s == nil {
		return
	}
	status, config := flags(r)
	v := view{s: s, status: status, config: config}
	out := MultipointGroupList{MultipointGroup: []MultipointGroup{}}
	for _, id := range sortedKeys(s.Groups) {
		out.MultipointGroup = append(out.MultipointGroup, v.group(s.Groups[id]))
	}
	writeJSON(w, out)
}

func (h *handler) getGroup(w http.ResponseWriter, r *http.Request) {
	s := h.snapshot(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	g := s.Groups[id]
	if g == nil {
		h.fail(w, r, notFound("multipoint group", id))
		return
	}
	_, config := flags(r)
	out := view{s: s, status: true, config: config}.group(g)
	out.ID = ""
	writeJSON(w, out)
}

func (h *handler) listBridges(w http.ResponseWriter, r *http.Request) {
	s := h.snapshot(w, r)
	if s == nil {
		return
	}
	status, config := flags(r)
	v := view{s: s, status: status, config: config}
	out := BridgeList{Bridge: []Bridge{}}
	for _, id := range sortedKeys(s.Bridges) {
		out.Bridge = append(out.Bridge, v.bridge(s.Bridges[id]))
	}
	writeJSON(w, out)
}

func (h *handler) getBridge(w http.ResponseWriter, r *http.Request) {
	s := h.snapshot(w, r)
	if s == nil {
		return
	}
	id := r.PathValue("id")
	b := s.Bridges[id]
	if b == nil {
		h.fail(w, r, notFound("bridge", id))
		return
	}
	_, config := flags(r)
	out := view{s: s, status: true, config: config}.bridge(b)
	out.ID = ""
	writeJSON(w, out)
}

// decode reads r's body as exactly one JSON value of v's type: no
// unknown keys, nothing after it, at most MaxBody bytes.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("data after the JSON object")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return &httpError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body over %d bytes", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty: want a JSON object")
	}
	return badRequest("request body: " + err.Error())
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
