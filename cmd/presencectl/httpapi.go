package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/presenced/presenced/web/wire"
)

// apiKeyEnv names the variable that -api-key defaults to.
const apiKeyEnv = "PRESENCE_API_KEY"

// overHTTP reports whether the admin commands go over the HTTP API: with
// the API key, or an http(s) -url.
func (a *adminFlags) overHTTP() bool {
	return a.apiKey != "" || strings.HasPrefix(a.url, "http://") || strings.HasPrefix(a.url, "https://")
}

// apiBase is the HTTP API's base URL on the host of -url (ws, wss, http
// or https).
func apiBase(rawURL string) (string, error) {
	u, err := httpURL(rawURL)
	if err != nil {
		return "", fmt.Errorf("-url %w", err)
	}
	return u.Scheme + "://" + u.Host + "/api/v1", nil
}

// httpURL parses a node's URL, WebSocket or HTTP, as the HTTP URL of the
// same host: the server serves its socket, its API and /dev/token on one
// listener.
func httpURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("%q: scheme must be ws, wss, http or https", rawURL)
	}
	return u, nil
}

// apiRequest is one call of the HTTP API.
type apiRequest struct {
	method, path string
	body         any // encoded as JSON; nil: none
}

// adminRequest is the HTTP call that does what the socket command cmd
// does, and how to put its answer where the socket's reply has it.
func adminRequest(cmd wire.Command) (apiRequest, func(body []byte, r *reply) error, error) {
	into := func(body []byte, r *reply) error { return json.Unmarshal(body, &r.Frame) }
	field := func(set func(r *reply) any) func(body []byte, r *reply) error {
		return func(body []byte, r *reply) error { return json.Unmarshal(body, set(r)) }
	}
	status := field(func(r *reply) any { r.Status = new(wire.CustomStatus); return r.Status })
	statusPath := "/statuses/" + url.PathEscape(cmd.Custom)
	switch cmd.Type {
	case wire.TypeAdminStats:
		return apiRequest{http.MethodGet, "/stats", nil}, into, nil
	case wire.TypeAdminService:
		return apiRequest{http.MethodPut, "/service", map[string]any{"enabled": *cmd.Enabled}},
			field(func(r *reply) any { r.Service = new(wire.Service); return r.Service }), nil
	case wire.TypeAdminList:
		q := url.Values{"query": {cmd.Query}, "offset": {strconv.Itoa(cmd.Offset)}}
		if cmd.Limit != nil {
			q.Set("limit", strconv.Itoa(*cmd.Limit))
		}
		return apiRequest{http.MethodGet, "/statuses?" + q.Encode(), nil}, into, nil
	case wire.TypeAdminCreate:
		return apiRequest{http.MethodPost, "/statuses", map[string]any{"name": cmd.Name, "presence": cmd.Presence}}, status, nil
	case wire.TypeAdminUpdate:
		return apiRequest{http.MethodPatch, statusPath, map[string]any{"name": cmd.Name, "presence": cmd.Presence}}, status, nil
	case wire.TypeAdminDelete:
		return apiRequest{http.MethodDelete, statusPath, nil}, status, nil
	case wire.TypeAdminSettings:
		return apiRequest{http.MethodPut, "/settings", map[string]any{"idle_limit_s": *cmd.IdleLimitS}},
			field(func(r *reply) any { r.Settings = new(wire.Settings); return r.Settings }), nil
	}
	return apiRequest{}, nil, fmt.Errorf("%s has no HTTP call", cmd.Type)
}

// call makes one HTTP API call with the caller's bearer token and returns
// the answer's body. A problem answer is a *wire.Error with its code.
func (a *adminFlags) call(ctx context.Context, hc *http.Client, req apiRequest) ([]byte, error) {
	base, err := apiBase(a.url)
	if err != nil {
		return nil, err
	}
	tok := a.apiKey
	if tok == "" {
		if tok, err = a.userToken(ctx, hc); err != nil {
			return nil, err
		}
	}
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", req.method, req.path, err)
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, base+req.path, body)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(b, &p) != nil || p.Code == "" {
		return nil, fmt.Errorf("%s %s: %s", req.method, req.path, resp.Status)
	}
	return nil, &wire.Error{Code: p.Code, Message: p.Detail}
}

// doHTTP runs an admin command over the HTTP API.
func (a *adminFlags) doHTTP(ctx context.Context, hc *http.Client, cmd wire.Command) (*reply, error) {
	req, fill, err := adminRequest(cmd)
	if err != nil {
		return nil, err
	}
	b, err := a.call(ctx, hc, req)
	if err != nil {
		return nil, err
	}
	r := &reply{Raw: b}
	if err := fill(b, r); err != nil {
		return nil, fmt.Errorf("%s %s answered %q: %w", req.method, req.path, b, err)
	}
	return r, nil
}
