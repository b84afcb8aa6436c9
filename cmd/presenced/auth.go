package main

import (
	"errors"
	"flag"
	"time"

	"github.com/rs/zerolog"

	"github.com/presenced/presenced/auth"
)

// authConfig is what the token flags say (besides -jwt-secret and -dev).
type authConfig struct {
	jwksURL     string
	issuer      string
	audience    string
	rolesClaim  string
	adminRole   string
	maxLifetime time.Duration
}

func authFlags(fs *flag.FlagSet, c *authConfig) {
	fs.StringVar(&c.jwksURL, "jwks-url", "", "the identity provider's JWK Set URL: RS256/384/512, PS256, ES256/384 and EdDSA tokens are checked with its keys")
	fs.StringVar(&c.issuer, "jwt-issuer", "", "when set, tokens must carry this iss")
	fs.StringVar(&c.audience, "jwt-audience", "", "when set, tokens must carry this aud (a string or one of an array)")
	fs.StringVar(&c.rolesClaim, "roles-claim", "roles", "dotted path of the roles claim, such as realm_access.roles")
	fs.StringVar(&c.adminRole, "admin-role", "admin", "the role that makes a user an admin")
	fs.DurationVar(&c.maxLifetime, "max-token-lifetime", 24*time.Hour, "tokens whose exp is further than this from their iat, or from now, are refused")
}

// checkAuth refuses a configuration that could verify no token.
func checkAuth(cfg config) error {
	switch {
	case cfg.secret == "" && cfg.auth.jwksURL == "" && !cfg.dev:
		return errors.New("one of -jwt-secret, -jwks-url or -dev is required: no token could be verified")
	case cfg.auth.maxLifetime < time.Minute:
		return errors.New("-max-token-lifetime must be 1m or more")
	}
	return nil
}

// newVerifier checks the tokens of hello, refresh and the HTTP API. In dev
// mode exp is optional (old dev tokens have none).
func newVerifier(cfg config, secret []byte, log zerolog.Logger) (*auth.Verifier, error) {
	return auth.New(auth.Config{
		Secret:      secret,
		JWKSURL:     cfg.auth.jwksURL,
		Issuer:      cfg.auth.issuer,
		Audience:    cfg.auth.audience,
		RolesClaim:  cfg.auth.rolesClaim,
		AdminRole:   cfg.auth.adminRole,
		MaxLifetime: cfg.auth.maxLifetime,
		AllowNoExp:  cfg.dev,
		Log:         log,
	})
}
