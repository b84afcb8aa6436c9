package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
)

// maxJWKSBytes bounds the JWK Set document read from the provider.
const maxJWKSBytes = 1 << 20

// minRSABits is the smallest RSA key kept, the floor Go's crypto/rsa itself
// enforces.
const minRSABits = 1024

// keyError is a refusal because of the keys, not the token's claims.
type keyError struct{ msg string }

func (e *keyError) Error() string { return e.msg }

// keySet is the cache of an identity provider's public keys.
//
// Why not keyfunc's own HTTP storage: after a failed first fetch it waits a
// whole refresh interval (an hour) before trying again, its refresh
// goroutine cannot be joined, and it says nothing a readiness probe can
// show. The JWK parsing is jwkset's (keyfunc's), the policy is ours.
type keySet struct {
	url      string
	client   *http.Client
	every    time.Duration
	minFetch time.Duration
	now      func() time.Time
	log      zerolog.Logger
	warn     zerolog.Logger // sampled: refusals for want of keys

	fetching chan struct{} // a one-slot semaphore: one fetch at a time

	mu          sync.Mutex
	keys        map[string]publicKey // by kid
	loaded      bool                 // one fetch succeeded
	lastErr     error                // of the last fetch, nil after a success
	lastRefetch time.Time            // start of the last fetch for an unknown kid, by now()
}

// publicKey is one verification key and the algorithm its JWK names, if any.
type publicKey struct {
	kid string
	alg string
	key crypto.PublicKey
}

func newKeySet(cfg Config, log zerolog.Logger) *keySet {
	return &keySet{
		url:      cfg.JWKSURL,
		client:   cfg.HTTPClient,
		every:    cfg.RefreshInterval,
		minFetch: cfg.MinRefetch,
		now:      cfg.Now,
		log:      log,
		warn:     log.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Second}),
		fetching: make(chan struct{}, 1),
	}
}

func (s *keySet) ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded {
		return nil
	}
	if s.lastErr != nil {
		return fmt.Errorf("the identity provider's keys are not loaded: %w", s.lastErr)
	}
	return errors.New("the identity provider's keys are not loaded yet")
}

// run fetches the set at once, then every s.every; while fetches fail it
// retries after 1 s, doubling up to a minute, logging each failure.
func (s *keySet) run(ctx context.Context) {
	retry := time.Second
	for {
		wait := s.every
		if err := s.refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error().Err(err).Str("jwks_url", s.url).Dur("retry_in", retry).
				Msg("cannot load the identity provider's JWK Set: its tokens are refused until it loads")
			wait, retry = retry, min(2*retry, time.Minute)
		} else {
			retry = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// refresh fetches the set once, after any fetch already under way.
func (s *keySet) refresh(ctx context.Context) error {
	select {
	case s.fetching <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.fetching }()
	return s.fetchAndStore(ctx)
}

// refetch fetches the set for an unknown kid, unless the fetch it waited
// for brought the kid, or the last fetch is less than minFetch ago: a
// flood of made-up kids costs the provider one request per minFetch.
func (s *keySet) refetch(ctx context.Context, kid string) {
	select {
	case s.fetching <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-s.fetching }()
	if _, ok := s.lookup(kid); ok || !s.mayRefetch() {
		return
	}
	s.mu.Lock()
	s.lastRefetch = s.now()
	s.mu.Unlock()
	if err := s.fetchAndStore(ctx); err != nil {
		s.warn.Warn().Err(err).Str("jwks_url", s.url).Msg("refetching the JWK Set for an unknown kid failed")
	}
}

// fetchAndStore fetches the set and keeps its keys. The caller holds the
// fetching slot.
func (s *keySet) fetchAndStore(ctx context.Context) error {
	keys, err := s.fetch(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = err
	if err != nil {
		return err
	}
	if !s.loaded {
		s.log.Info().Str("jwks_url", s.url).Int("keys", len(keys)).Msg("identity provider's JWK Set loaded")
	}
	s.keys, s.loaded = keys, true
	return nil
}

// fetch reads and parses the JWK Set. Keys that are not signature keys of a
// supported type are skipped (a set may also hold encryption keys); a set
// with none left is an error.
func (s *keySet) fetch(ctx context.Context) (map[string]publicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWK Set: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWK Set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWK Set: HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWK Set: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("fetch JWK Set: larger than %d bytes", maxJWKSBytes)
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("parse JWK Set: %w", err)
	}
	keys := make(map[string]publicKey, len(set.Keys))
	for i, m := range set.Keys {
		k, err := parseKey(m)
		if err != nil {
			s.log.Warn().Err(err).Int("index", i).Str("kid", m.KID).Msg("JWK Set: key skipped")
			continue
		}
		keys[k.kid] = k
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("parse JWK Set: no usable signature key among %d", len(set.Keys))
	}
	return keys, nil
}

// parseKey turns one JWK into a public verification key.
func parseKey(m jwkset.JWKMarshal) (publicKey, error) {
	if m.USE != "" && m.USE != jwkset.UseSig {
		return publicKey{}, fmt.Errorf("use is %q, not sig", m.USE)
	}
	switch m.KTY {
	case jwkset.KtyRSA, jwkset.KtyEC, jwkset.KtyOKP:
	default:
		// oct (a shared secret) above all: HMAC keys never come from a
		// public document.
		return publicKey{}, fmt.Errorf("key type %q is not RSA, EC or OKP", m.KTY)
	}
	// Public parts only, whatever the document holds; certificates are not
	// used (the set's own URL is what is trusted).
	m.D, m.P, m.Q, m.DP, m.DQ, m.QI, m.OTH, m.K = "", "", "", "", "", "", nil, ""
	m.X5C, m.X5U, m.X5T, m.X5TS256 = nil, "", "", ""
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return publicKey{}, err
	}
	k := publicKey{kid: m.KID, alg: m.ALG.String(), key: jwk.Key()}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		if key.N.BitLen() < minRSABits {
			return publicKey{}, fmt.Errorf("RSA key of %d bits, fewer than %d", key.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return publicKey{}, fmt.Errorf("unsupported key %T", k.key)
	}
	return k, nil
}

// key is the jwt.Keyfunc for tokens signed with the provider's keys: the
// key of the token's kid, fetching the set again (at most once per
// minFetch) when the kid is unknown. A token without kid is tried against
// every key that fits its alg.
func (s *keySet) key(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	kid, hasKID := t.Header["kid"].(string)
	if _, present := t.Header["kid"]; present && !hasKID {
		return nil, &keyError{"the token's kid is not a string"}
	}
	if !hasKID {
		var set jwt.VerificationKeySet
		for _, k := range s.snapshot() {
			if k.fits(alg) == nil {
				set.Keys = append(set.Keys, k.key)
			}
		}
		if len(set.Keys) == 0 {
			return nil, s.refuse("the token has no kid and no key of the identity provider fits its alg " + alg)
		}
		return set, nil
	}
	k, ok := s.lookup(kid)
	if !ok && s.mayRefetch() {
		s.refetch(ctx, kid)
		k, ok = s.lookup(kid)
	}
	if !ok {
		return nil, s.refuse(fmt.Sprintf("the token's kid %q is not a key of the identity provider", truncate(kid, 64)))
	}
	if err := k.fits(alg); err != nil {
		return nil, err
	}
	return k.key, nil
}

// refuse is a key error; while the set has never loaded it says so, and
// logs it (sampled: a flood of tokens makes one line per 10 s).
func (s *keySet) refuse(msg string) error {
	if err := s.ready(); err != nil {
		s.warn.Warn().Err(err).Str("jwks_url", s.url).Msg("token refused: the identity provider's keys are not loaded")
		return &keyError{"the identity provider's keys are not loaded yet: try again later"}
	}
	return &keyError{msg}
}

func (s *keySet) lookup(kid string) (publicKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[kid]
	return k, ok
}

func (s *keySet) snapshot() []publicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]publicKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	return out
}

// mayRefetch reports whether the last fetch for an unknown kid is at least
// minFetch ago. The periodic fetches do not count: a key rotated in just
// after one is still picked up at once.
func (s *keySet) mayRefetch() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRefetch.IsZero() || s.now().Sub(s.lastRefetch) >= s.minFetch
}

// fits says why k cannot verify a token signed with alg, or nil: the JWK's
// own alg, when it names one, must be alg, and the key's type and curve
// must be what alg uses.
func (k publicKey) fits(alg string) error {
	if k.alg != "" && k.alg != alg {
		return &keyError{fmt.Sprintf("the token's alg %s is not the alg %s of its key", alg, k.alg)}
	}
	ok := false
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		ok = strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		ok = (alg == "ES256" && key.Curve == elliptic.P256()) || (alg == "ES384" && key.Curve == elliptic.P384())
	case ed25519.PublicKey:
		ok = alg == "EdDSA"
	}
	if !ok {
		return &keyError{fmt.Sprintf("the token's alg %s does not fit its key", alg)}
	}
	return nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
