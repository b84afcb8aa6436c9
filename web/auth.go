package web

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/presenced/presenced/auth"
	"github.com/presenced/presenced/web/wire"
)

// verifyTimeout bounds one token check: an unknown key id may make the
// verifier fetch the identity provider's keys.
const verifyTimeout = 5 * time.Second

// identity is who a token says its bearer is.
type identity struct {
	ID    string
	Name  string
	Admin bool
	// Expires is the exp of the hello token (zero: none, in dev mode). A
	// refresh moves conn.expires, not this.
	Expires time.Time
}

// newVerifier is the verifier of a Config without one: HS256 with Secret,
// exp optional in dev mode. Without a secret nothing verifies.
func newVerifier(cfg Config) *auth.Verifier {
	secret := cfg.Secret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	v, _ := auth.New(auth.Config{Secret: secret, AllowNoExp: cfg.Dev, Log: cfg.Log}) // cannot fail with a secret
	return v
}

// Verifier returns the token verifier of hello and refresh (Config.Verifier,
// or the HS256 default), for other handlers on the same listener, such as
// the HTTP API, to check their bearer tokens the same way.
func (s *Server) Verifier() *auth.Verifier { return s.verifier }

// verify checks a token of hello or refresh.
func (s *Server) verify(ctx context.Context, token string) (identity, error) {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	id, err := s.verifier.Verify(ctx, token)
	if err != nil {
		return identity{}, err
	}
	return identity{ID: id.User, Name: id.Name, Admin: id.Admin, Expires: id.Expires}, nil
}

// refresh answers a refresh command: a valid token of the same user (and
// the same admin standing, which the hub fixed at hello) moves the end of
// the session to its exp. A refused refresh changes nothing: the session
// still ends at the old exp.
func (c *conn) refresh(seq uint64, cmd wire.Command) {
	ident, err := c.srv.verify(context.Background(), cmd.Token)
	switch {
	case err != nil:
		c.replyError(seq, wire.CodeUnauthorized, err.Error())
		return
	case ident.ID != c.ident.ID:
		c.replyError(seq, wire.CodeForbidden, "the token is for another user: a session keeps its user")
		return
	case ident.Admin != c.ident.Admin:
		c.replyError(seq, wire.CodeForbidden, "the token's roles differ from the session's: reconnect with it")
		return
	}
	c.mu.Lock()
	c.setExpiry(ident.Expires)
	c.mu.Unlock()
	r := wire.Result{Type: wire.TypeResult, ID: cmd.ID, OK: true, Expires: wire.NewTime(ident.Expires)}
	c.reply(seq, nil, wire.Encode(r))
}

// setExpiry aims the expiry timer at exp (zero: the session never ends).
// Holds c.mu.
func (c *conn) setExpiry(exp time.Time) {
	c.expires = exp
	switch {
	case exp.IsZero():
		if c.expiry != nil {
			c.expiry.Stop()
		}
	case c.expiry == nil:
		c.expiry = time.AfterFunc(time.Until(exp), c.expire)
	default:
		c.expiry.Reset(time.Until(exp))
	}
}

// stopExpiry stops the expiry timer when the connection ends.
func (c *conn) stopExpiry() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expiry != nil {
		c.expiry.Stop()
	}
}

// expire closes the connection with 4001 when its token has expired. A
// timer that fires for an exp a refresh has since moved is aimed again.
func (c *conn) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expires.IsZero() {
		return
	}
	if left := time.Until(c.expires); left > 0 {
		c.expiry.Reset(left)
		return
	}
	c.closeLocked(closeTokenExpired)
}

// Mint returns an HS256 token for user, valid for ttl. Dev mode and tests
// use it.
func Mint(secret []byte, user, name string, admin bool, ttl time.Duration) (string, error) {
	return auth.Mint(secret, user, name, admin, ttl)
}
