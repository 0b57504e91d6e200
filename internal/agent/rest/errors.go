package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"mediamesh/internal/agent"
	"mediamesh/internal/mcm"
)

// httpError is an error that knows its status.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(msg string) error { return &httpError{code: http.StatusBadRequest, msg: msg} }

func notFound(what, id string) error {
	return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("%s %q not found", what, id)}
}

// statusOf maps an outcome to its HTTP status: the one table of this
// boundary, as grpcStatus is of the Proxy API's.
func statusOf(err error) int {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he.code
	case errors.Is(err, agent.ErrInvalid), errors.Is(err, mcm.ErrInvalidConfig):
		return http.StatusBadRequest
	case errors.Is(err, agent.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, agent.ErrConflict), errors.Is(err, agent.ErrIncompatible), errors.Is(err, agent.ErrNotReady):
		return http.StatusConflict
	case errors.Is(err, agent.ErrClosed), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// fail writes err as a JSON error; server-side failures are logged.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code >= 500 {
		h.api.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	}
	writeError(w, code, err.Error())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeBody(w, code, Error{Error: ErrorBody{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, v any) { writeBody(w, http.StatusOK, v) }

func writeBody(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only our own types get here: a bug
		code, b = http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"encoding the response failed"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
