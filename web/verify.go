package web

import (
	"context"

	"github.com/presenced/presenced/web/api"
)

// TokenVerifier checks users' tokens exactly as hello does, for the HTTP
// API, so that a token means the same on both.
type TokenVerifier struct{ v verifier }

// NewTokenVerifier returns the verifier of a server with this secret and
// dev mode (where tokens need no exp).
func NewTokenVerifier(secret []byte, dev bool) *TokenVerifier {
	return &TokenVerifier{verifier{secret: secret, requireExp: !dev}}
}

// Verify returns who token is for.
func (t *TokenVerifier) Verify(_ context.Context, token string) (api.Identity, error) {
	id, err := t.v.verify(token)
	if err != nil {
		return api.Identity{}, err
	}
	return api.Identity{User: id.ID, Admin: id.Admin}, nil
}
