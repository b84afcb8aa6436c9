package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/presenced/presenced/auth"
	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web"
	"github.com/presenced/presenced/web/wire"
)

// MinKeyLen is the fewest characters an API key may have.
const MinKeyLen = 32

// Verifier checks a user's token: the same verifier as the socket's hello
// (*auth.Verifier), so that a token means the same on both.
type Verifier interface {
	// Verify returns who token is for, or an error that says, to the
	// caller, why it is refused.
	Verify(ctx context.Context, token string) (auth.Identity, error)
}

// caller is who made a request.
type caller struct {
	user  string // the token's user; "" for the API key
	admin bool
	key   bool // the server API key
}

// limitKey is the rate limit bucket of c: one per user, one for the key.
func (c caller) limitKey() string {
	if c.key {
		return "key"
	}
	return "user:" + c.user
}

// actor is who a hub command runs as for c.
func (c caller) actor() hub.Actor { return hub.Actor{User: c.user, Admin: c.admin} }

// policy says who may call an operation.
type policy int

const (
	anyone      policy = iota // no token needed
	anyToken                  // any valid token
	selfOrKey                 // the user of the path, or the API key
	selfOrAdmin               // the user of the path, an admin, or the API key
	adminOnly                 // an admin, or the API key
)

type callerKey struct{}

// callerOf is the caller that guard let through.
func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// isKey reports whether token is the API key. The hashes compare in
// constant time, and hashing first keeps the key's length out of it too.
func (a *API) isKey(token string) bool {
	if !a.hasKey {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], a.keySum[:]) == 1
}

// authenticate finds the caller of a request from its bearer token.
func (a *API) authenticate(ctx context.Context, header string) (caller, *Problem) {
	scheme, token, ok := strings.Cut(header, " ")
	if header == "" {
		return caller{}, problem(wire.CodeUnauthorized, "send a token: Authorization: Bearer <a user's JWT or the API key>")
	}
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return caller{}, problem(wire.CodeUnauthorized, "the Authorization header must be Bearer <token>")
	}
	if a.isKey(token) {
		return caller{admin: true, key: true}, nil
	}
	id, err := a.cfg.Verifier.Verify(ctx, token)
	if err != nil {
		return caller{}, problem(wire.CodeUnauthorized, err.Error())
	}
	return caller{user: id.User, admin: id.Admin}, nil
}

// permit checks that c may call an operation of policy pol about the
// user pathUser (the path's {id}, if it has one).
func permit(c caller, pol policy, pathUser string) *Problem {
	switch pol {
	case selfOrKey:
		if c.key || c.user == pathUser {
			return nil
		}
		return problem(wire.CodeForbidden, "a user may change only their own status; a backend uses the API key")
	case selfOrAdmin:
		if c.admin || c.user == pathUser {
			return nil
		}
		return problem(wire.CodeForbidden, "only that user, an admin or the API key may do this")
	case adminOnly:
		if c.admin {
			return nil
		}
		return problem(wire.CodeForbidden, "this needs the admin role or the API key")
	}
	return nil
}

// guard is the middleware of an operation of policy pol: it authenticates,
// rate-limits and authorizes the caller before huma reads parameters or
// body, so that a caller who may not call learns that (401, 403) and not
// what was wrong with the request (400).
func (a *API) guard(pol policy) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if pol == anyone {
			next(ctx)
			return
		}
		c, p := a.authenticate(ctx.Context(), ctx.Header("Authorization"))
		if p != nil {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="presenced"`)
		} else if wait, ok := a.limits.take(c.limitKey()); !ok {
			ctx.SetHeader("Retry-After", retryAfter(wait))
			p = problem(wire.CodeRateLimited, "too many requests with this token: slow down")
		} else {
			r, _ := humago.Unwrap(ctx)
			web.SignedIn(r)
			p = permit(c, pol, ctx.Param("id"))
		}
		if p != nil {
			ctx.SetHeader("Content-Type", "application/problem+json")
			ctx.SetStatus(p.Status)
			json.NewEncoder(ctx.BodyWriter()).Encode(p)
			return
		}
		next(huma.WithValue(ctx, callerKey{}, c))
	}
}
