package web

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/presenced/presenced/web/wire"
)

// claims are the JWT claims of the protocol.
type claims struct {
	Name  string   `json:"name,omitempty"`
	Roles []string `json:"roles,omitempty"`
	jwt.RegisteredClaims
}

// identity is who a token says its bearer is.
type identity struct {
	ID    string
	Name  string
	Admin bool
}

// verifier checks HS256 tokens signed with one secret.
type verifier struct {
	secret     []byte
	requireExp bool
}

func (v verifier) verify(token string) (identity, error) {
	var c claims
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"})}
	if v.requireExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.secret, nil }, opts...)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return identity{}, errors.New("the token has expired")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return identity{}, errors.New("the token has no exp claim")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return identity{}, errors.New("the token's signature does not match")
	case err != nil:
		return identity{}, fmt.Errorf("the token is not valid: %w", err)
	case c.Subject == "":
		return identity{}, errors.New("the token has no sub claim")
	case utf8.RuneCountInString(c.Subject) > wire.MaxUserIDLen:
		return identity{}, fmt.Errorf("the token's sub is longer than %d characters", wire.MaxUserIDLen)
	}
	name := c.Name
	if name == "" {
		name = c.Subject
	}
	return identity{ID: c.Subject, Name: name, Admin: slices.Contains(c.Roles, "admin")}, nil
}

// Mint returns an HS256 token for user, valid for ttl. Dev mode and tests
// use it.
func Mint(secret []byte, user, name string, admin bool, ttl time.Duration) (string, error) {
	c := claims{Name: name, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(time.Now()),
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl)),
	}}
	if admin {
		c.Roles = []string{"admin"}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}
