package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

// Base is the path under which every endpoint is served.
const Base = "/api/v1"

// Hub runs commands for callers with no connection: *hub.Hub.
type Hub interface {
	Exec(ctx context.Context, actor hub.Actor, cmd hub.Command) (hub.Result, *hub.Error)
}

// Config configures an API. The zero value of each field means its default.
type Config struct {
	// Hub runs the commands. Required.
	Hub Hub
	// Verifier checks users' tokens, as hello does. Required.
	Verifier Verifier
	// APIKey is the server API key: it acts as an admin and for any user.
	// At least MinKeyLen characters. Default: none, only users' tokens.
	APIKey string
	// RateLimit and RateBurst bound each user's requests, as the socket
	// bounds each connection's commands. Default: 20/s with bursts of 40.
	RateLimit rate.Limit
	RateBurst int
	// KeyRateLimit and KeyRateBurst bound the API key's requests: one key
	// serves a whole backend. Default: 1,000/s with bursts of 2,000.
	KeyRateLimit rate.Limit
	KeyRateBurst int
	// Log receives the API's logs: failures that are the server's fault.
	// Default: no logs.
	Log zerolog.Logger
}

// API serves the HTTP API. It is an http.Handler for the paths under Base,
// and a prometheus.Collector of its own metrics.
type API struct {
	cfg     Config
	log     zerolog.Logger
	mux     *http.ServeMux
	huma    huma.API
	limits  *limiters
	metrics *metrics
	keySum  [sha256.Size]byte
	hasKey  bool
	doc     []byte // the OpenAPI document, as served
}

// New returns the API of cfg. It refuses an API key shorter than
// MinKeyLen.
func New(cfg Config) (*API, error) {
	switch {
	case cfg.Hub == nil:
		return nil, errors.New("api: no hub")
	case cfg.Verifier == nil:
		return nil, errors.New("api: no token verifier")
	case cfg.APIKey != "" && utf8.RuneCountInString(cfg.APIKey) < MinKeyLen:
		return nil, fmt.Errorf("api: the API key has %d characters, at least %d needed", utf8.RuneCountInString(cfg.APIKey), MinKeyLen)
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit, cfg.RateBurst = 20, 40
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = max(1, int(2*cfg.RateLimit))
	}
	if cfg.KeyRateLimit <= 0 {
		cfg.KeyRateLimit, cfg.KeyRateBurst = 1000, 2000
	}
	if cfg.KeyRateBurst <= 0 {
		cfg.KeyRateBurst = max(1, int(2*cfg.KeyRateLimit))
	}
	a := &API{cfg: cfg, log: cfg.Log, mux: http.NewServeMux(), metrics: newMetrics()}
	if cfg.APIKey != "" {
		a.keySum, a.hasKey = sha256.Sum256([]byte(cfg.APIKey)), true
	}
	a.limits = newLimiters(func(key string) (rate.Limit, int) {
		if key == "key" {
			return cfg.KeyRateLimit, cfg.KeyRateBurst
		}
		return cfg.RateLimit, cfg.RateBurst
	})

	hc := huma.DefaultConfig("presenced", "1")
	hc.Info.Description = "The HTTP API for backends of the presenced presence hub: who is online, " +
		"set a user's status, manage custom statuses and the service. Every endpoint does what the " +
		"WebSocket command of the same meaning does."
	// No docs page (it loads scripts from a CDN), no schema routes and no
	// $schema links in bodies: answers have the socket's shapes. The
	// document is served by an operation of its own, so that it lists
	// itself.
	hc.OpenAPIPath, hc.DocsPath, hc.SchemasPath, hc.CreateHooks = "", "", "", nil
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A user's JWT (as in hello) or the server API key."},
	}
	// The wire's timestamps are RFC 3339 strings, and null where the
	// protocol says (an alias cannot tell a pointer from a value, so the
	// schema allows null for every one).
	hc.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[wire.Time](), reflect.TypeFor[*time.Time]())
	a.huma = humago.New(a.mux, hc)
	a.registerPresence()
	a.registerAdmin()
	doc, err := a.openAPI()
	if err != nil {
		return nil, err
	}
	a.doc = doc
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problem(wire.CodeNotFound, fmt.Sprintf("no endpoint %s %s; see %s/openapi.json", r.Method, r.URL.Path, Base)))
	})
	return a, nil
}

// ServeHTTP serves the endpoints under Base, counts each request, and logs
// those that failed by the server's fault.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Bodies are JSON. curl -d labels them as a form, and a bare client
	// may not label them at all: read them as JSON all the same.
	if ct := r.Header.Get("Content-Type"); r.ContentLength != 0 && (ct == "" || ct == "application/x-www-form-urlencoded") {
		r.Header.Set("Content-Type", "application/json")
	}
	if route, status := a.metrics.serve(a.mux, w, r); status >= 500 && status != http.StatusServiceUnavailable {
		a.log.Error().Str("route", route).Int("status", status).Msg("HTTP API request failed")
	}
}

// op describes an operation to register: huma's, and who may call it.
type op struct {
	huma.Operation
	who policy
}

// register adds an operation to the API, behind its guard and the body
// limit of a socket frame.
func register[I, O any](a *API, o op, handler func(context.Context, *I) (*O, error)) {
	o.Path = Base + o.Path
	o.MaxBodyBytes = wire.MaxFrame
	o.Middlewares = append(o.Middlewares, a.guard(o.who))
	if o.who != anyone {
		o.Security = []map[string][]string{{"bearer": {}}}
		o.Errors = append([]int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests}, o.Errors...)
		if o.who != anyToken {
			o.Errors = append(o.Errors, http.StatusForbidden)
		}
	}
	switch o.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		o.Errors = append(o.Errors, http.StatusRequestEntityTooLarge)
	}
	huma.Register(a.huma, o.Operation, handler)
}
