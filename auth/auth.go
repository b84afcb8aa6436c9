package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
)

// MaxUserLen is the longest user id (sub) a token may carry, in characters.
const MaxUserLen = 128

// MaxNameLen is the longest display name kept from a token, in characters;
// a longer one is cut.
const MaxNameLen = 128

// Algorithms accepted with keys from a JWK Set. HS256 is accepted only with
// a secret: a JWK Set holds public keys, and an HMAC "signed" with one of
// them proves nothing (algorithm confusion).
var jwksMethods = []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}

// Config configures a Verifier. The zero value of each field means its
// default; at least one of Secret and JWKSURL is required.
type Config struct {
	// Secret checks HS256 tokens. Default: none (HS256 refused).
	Secret []byte
	// JWKSURL is the identity provider's JWK Set (http or https). Default:
	// none (only HS256).
	JWKSURL string
	// Issuer and Audience, when set, must match the iss and aud claims (aud
	// a string or an array holding it); a token without them is refused.
	// Default: not checked.
	Issuer, Audience string
	// RolesClaim is the dotted path of the roles claim, such as
	// realm_access.roles; a key that itself holds dots (an Auth0
	// namespaced claim) is found too. Default: roles.
	RolesClaim string
	// AdminRole is the role that makes its bearer an admin. Default: admin.
	AdminRole string
	// MaxLifetime refuses tokens whose exp is further than this from their
	// iat, or from now. Default: 24 h.
	MaxLifetime time.Duration
	// AllowNoExp accepts tokens without exp (dev mode). Default: exp is
	// required.
	AllowNoExp bool
	// Log receives refresh results and refusals caused by missing keys.
	// Default: no logs.
	Log zerolog.Logger
	// HTTPClient fetches the JWK Set. Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// RefreshInterval is how often the JWK Set is fetched again. Default: 1 h.
	RefreshInterval time.Duration
	// MinRefetch is the least time between two fetches that an unknown key
	// id causes. Default: 10 s.
	MinRefetch time.Duration
	// Now is the clock of the time claims and of MinRefetch. Default:
	// time.Now.
	Now func() time.Time
}

// Identity is who a valid token says its bearer is.
type Identity struct {
	User  string // sub
	Name  string // name, else sub
	Admin bool   // AdminRole is among the roles
	// Expires is the token's exp: when the session it opened ends. Zero for
	// a token without exp (dev mode only).
	Expires time.Time
}

// Verifier checks tokens. Create it with New; with a JWK Set, also Run it.
type Verifier struct {
	cfg    Config
	log    zerolog.Logger
	keys   *keySet // nil without a JWK Set
	parser *jwt.Parser
}

// New returns a verifier for cfg, with defaults filled in. It fetches
// nothing: Run loads the JWK Set.
func New(cfg Config) (*Verifier, error) {
	if len(cfg.Secret) == 0 && cfg.JWKSURL == "" {
		return nil, errors.New("auth: a secret or a JWK Set URL is required")
	}
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("auth: the JWK Set URL %q is not an http or https URL", cfg.JWKSURL)
		}
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.AdminRole == "" {
		cfg.AdminRole = "admin"
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = 24 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = time.Hour
	}
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg, log: cfg.Log}
	var methods []string
	if len(cfg.Secret) > 0 {
		methods = append(methods, "HS256")
	}
	if cfg.JWKSURL != "" {
		methods = append(methods, jwksMethods...)
		v.keys = newKeySet(cfg, cfg.Log)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithJSONNumber(), // so that a string exp is refused, not read as a number
		jwt.WithTimeFunc(cfg.Now),
	}
	if !cfg.AllowNoExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Verify checks token and returns whom it names. The error is a sentence
// fit to show the client; it says why, never what the key is.
func (v *Verifier) Verify(ctx context.Context, token string) (Identity, error) {
	var c jwt.MapClaims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if t.Method.Alg() == "HS256" {
			return v.cfg.Secret, nil // only valid when a secret is set
		}
		return v.keys.key(ctx, t)
	})
	if err != nil {
		return Identity{}, explain(err)
	}
	return v.identity(c)
}

// explain turns a jwt error into a sentence.
func explain(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errors.New("the token is not a well-formed JWT")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The key function's own errors (unknown kid, no keys yet) are
		// wrapped here; say them rather than the library's prefix.
		var ke *keyError
		if errors.As(err, &ke) {
			return ke
		}
		return fmt.Errorf("the token cannot be verified: %w", errors.Unwrap(err))
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if strings.Contains(err.Error(), "signing method") {
			return errors.New("the token's alg is not accepted here")
		}
		return errors.New("the token's signature does not match")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		var missing []string
		for _, c := range []string{"exp", "iss", "aud"} {
			if strings.Contains(err.Error(), c+" claim is required") {
				missing = append(missing, c)
			}
		}
		return fmt.Errorf("the token lacks the required claim %s", strings.Join(missing, ", "))
	case errors.Is(err, jwt.ErrTokenExpired):
		return errors.New("the token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errors.New("the token is not valid yet (nbf is in the future)")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errors.New("the token's iss is not the configured issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errors.New("the token's aud does not hold the configured audience")
	case errors.Is(err, jwt.ErrInvalidType):
		return errors.New("a time claim of the token (exp, nbf, iat) is not a number")
	}
	return fmt.Errorf("the token is not valid: %w", err)
}

// identity checks the claims beyond what the parser checks.
func (v *Verifier) identity(c jwt.MapClaims) (Identity, error) {
	now := v.cfg.Now()
	var id Identity
	if exp, _ := c.GetExpirationTime(); exp != nil {
		id.Expires = exp.Time
		iat, err := c.GetIssuedAt()
		if err != nil {
			return Identity{}, errors.New("the token's iat is not a number")
		}
		if id.Expires.Sub(now) > v.cfg.MaxLifetime || (iat != nil && id.Expires.Sub(iat.Time) > v.cfg.MaxLifetime) {
			return Identity{}, fmt.Errorf("the token lives longer than the %v this server accepts", v.cfg.MaxLifetime)
		}
	}
	sub, ok := c["sub"].(string)
	if !ok {
		return Identity{}, errors.New("the token has no sub claim (a string)")
	}
	if err := CheckUser(sub); err != nil {
		return Identity{}, err
	}
	id.User = sub
	if name, ok := c["name"].(string); ok {
		id.Name = CleanName(name)
	}
	if id.Name == "" {
		id.Name = sub
	}
	id.Admin = hasRole(lookup(c, v.cfg.RolesClaim), v.cfg.AdminRole)
	return id, nil
}

// CheckUser says why sub cannot be a user id, or nil: it must be 1..128
// characters, not blank, with no control or bidirectional-control
// character (which would let a user show on screen as someone else).
func CheckUser(sub string) error {
	switch {
	case strings.TrimSpace(sub) == "":
		return errors.New("the token's sub is empty or blank")
	case utf8.RuneCountInString(sub) > MaxUserLen:
		return fmt.Errorf("the token's sub is longer than %d characters", MaxUserLen)
	case !utf8.ValidString(sub):
		return errors.New("the token's sub is not valid UTF-8")
	}
	for _, r := range sub {
		if unsafeRune(r) {
			return fmt.Errorf("the token's sub holds the control character %U", r)
		}
	}
	return nil
}

// CleanName returns a display name without control and bidirectional-
// control characters, trimmed and cut to MaxNameLen characters: names are
// shown to others, and a stray U+202E must not turn one around, but a
// name is no reason to refuse a sign-in.
func CleanName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unsafeRune(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > MaxNameLen {
		name = strings.TrimSpace(string([]rune(name)[:MaxNameLen]))
	}
	return name
}

// unsafeRune reports control characters and the bidirectional controls:
// embeddings and overrides (U+202A..U+202E), isolates (U+2066..U+2069), the
// marks U+200E, U+200F and U+061C.
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// lookup finds the claim at a dotted path. At each level it tries the whole
// remaining path as a key first, so "https://example.com/roles" (one key
// holding dots) and "realm_access.roles" (nested) both work.
func lookup(m map[string]any, path string) any {
	if v, ok := m[path]; ok {
		return v
	}
	for i := range len(path) {
		if path[i] != '.' {
			continue
		}
		if sub, ok := m[path[:i]].(map[string]any); ok {
			if v := lookup(sub, path[i+1:]); v != nil {
				return v
			}
		}
	}
	return nil
}

// hasRole reports whether roles, an array of strings or one space-separated
// string (as OAuth scopes are), holds role.
func hasRole(roles any, role string) bool {
	switch rs := roles.(type) {
	case []any:
		return slices.ContainsFunc(rs, func(r any) bool { s, ok := r.(string); return ok && s == role })
	case string:
		return slices.Contains(strings.Fields(rs), role)
	}
	return false
}

// Ready says why tokens from the identity provider cannot be verified yet
// (its JWK Set was never loaded), or nil. Without a JWK Set it is always
// nil.
func (v *Verifier) Ready() error {
	if v.keys == nil {
		return nil
	}
	return v.keys.ready()
}

// Run loads the JWK Set and refreshes it every RefreshInterval (retrying
// sooner while it fails) until ctx ends. Without a JWK Set it just waits
// for ctx. It always returns nil.
func (v *Verifier) Run(ctx context.Context) error {
	if v.keys == nil {
		<-ctx.Done()
		return nil
	}
	v.keys.run(ctx)
	return nil
}

// Mint returns an HS256 token for user, valid for ttl, with iat, exp and,
// for an admin, roles: ["admin"]. Dev mode and tests use it.
func Mint(secret []byte, user, name string, admin bool, ttl time.Duration) (string, error) {
	now := time.Now()
	c := jwt.MapClaims{"sub": user, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	if name != "" {
		c["name"] = name
	}
	if admin {
		c["roles"] = []string{"admin"}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}
