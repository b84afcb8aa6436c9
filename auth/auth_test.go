package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// signer is a private key of the test identity provider.
type signer struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer
}

func newSigner(t testing.TB, kid string, method jwt.SigningMethod) signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch method.Alg() {
	case "RS256", "RS384", "RS512", "PS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "EdDSA":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no key for %s", method.Alg())
	}
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, method: method, key: key}
}

// sign signs claims with s, kid in the header unless s.kid is "".
func (s signer) sign(t testing.TB, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, c)
	if s.kid != "" {
		tok.Header["kid"] = s.kid
	}
	out, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// idp is a local identity provider's JWK Set endpoint, over real HTTP.
type idp struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     []signer
	down     bool
	requests chan struct{} // one value per request served
	served   atomic.Int32
}

func newIDP(t *testing.T, keys ...signer) *idp {
	t.Helper()
	p := &idp{keys: keys, requests: make(chan struct{}, 100)}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) serve(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() { p.served.Add(1); p.requests <- struct{}{} }()
	if p.down {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	var set jwkset.JWKSMarshal
	for _, s := range p.keys {
		jwk, err := jwkset.NewJWKFromKey(s.key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: s.kid, USE: jwkset.UseSig}})
		if err != nil {
			panic(err)
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	json.NewEncoder(w).Encode(set)
}

func (p *idp) set(down bool, keys ...signer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.keys = down, keys
}

// clock is a settable clock for the time claims and the refetch limit.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// startVerifier runs a verifier over cfg until the test ends, and waits for
// its JWK Set to load when it has one that is up.
func startVerifier(t *testing.T, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return v
}

// loaded waits until v's first fetch is answered and its keys are in.
func loaded(t *testing.T, v *Verifier, p *idp) {
	t.Helper()
	select {
	case <-p.requests:
	case <-time.After(5 * time.Second):
		t.Fatal("the verifier did not fetch the JWK Set")
	}
	// The answer is in; its keys are stored right after the read.
	eventually(t, "ready after the fetch", func() bool { return v.Ready() == nil })
}

// eventually waits for cond, which the code under test makes true right
// after an event the test has seen, checking every millisecond for 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("not %s within 5 s", what)
		}
	}
}

func claims(now time.Time, sub string, more ...any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for i := 0; i+1 < len(more); i += 2 {
		if more[i+1] == nil {
			delete(c, more[i].(string))
			continue
		}
		c[more[i].(string)] = more[i+1]
	}
	return c
}

var methods = []jwt.SigningMethod{
	jwt.SigningMethodRS256, jwt.SigningMethodRS384, jwt.SigningMethodRS512, jwt.SigningMethodPS256,
	jwt.SigningMethodES256, jwt.SigningMethodES384, jwt.SigningMethodEdDSA,
}

// Every algorithm of the contract verifies with a key from the JWK Set,
// RSA, EC and Ed25519 alike, and its identity comes out of the claims.
func TestJWKSAlgorithms(t *testing.T) {
	var keys []signer
	for _, m := range methods {
		keys = append(keys, newSigner(t, "k-"+m.Alg(), m))
	}
	p := newIDP(t, keys...)
	v := startVerifier(t, Config{JWKSURL: p.srv.URL})
	loaded(t, v, p)
	now := time.Now()
	for _, k := range keys {
		t.Run(k.method.Alg(), func(t *testing.T) {
			id, err := v.Verify(context.Background(), k.sign(t, claims(now, "alice", "name", "Alice", "roles", []string{"admin"})))
			if err != nil {
				t.Fatal(err)
			}
			if id.User != "alice" || id.Name != "Alice" || !id.Admin || id.Expires.Unix() != now.Add(time.Hour).Unix() {
				t.Errorf("identity = %+v", id)
			}
		})
	}
	// No kid: tried against the keys that fit the alg.
	noKID := keys[4]
	noKID.kid = ""
	if _, err := v.Verify(context.Background(), noKID.sign(t, claims(now, "bob"))); err != nil {
		t.Errorf("ES256 without kid: %v", err)
	}
}

func hs256(t testing.TB, key []byte, c jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Each attack of the list in docs/auth.md, and each loose claim of issue
// 18, is refused with a sentence that says why.
func TestRefused(t *testing.T) {
	rsaKey := newSigner(t, "rsa", jwt.SigningMethodRS256)
	ecKey := newSigner(t, "ec", jwt.SigningMethodES256)
	p := newIDP(t, rsaKey, ecKey)
	clk := &clock{now: time.Now()}
	secret := []byte("a-shared-secret-of-enough-length")
	cfg := Config{JWKSURL: p.srv.URL, Issuer: "https://idp.example", Audience: "presence", Now: clk.Now}
	jwksOnly := startVerifier(t, cfg)
	loaded(t, jwksOnly, p)
	cfg.Secret = secret
	both := startVerifier(t, cfg)
	loaded(t, both, p)
	now := clk.Now()
	good := func(more ...any) jwt.MapClaims {
		return claims(now, "alice", append([]any{"iss", "https://idp.example", "aud", "presence"}, more...)...)
	}

	pubDER, _ := x509.MarshalPKIXPublicKey(rsaKey.key.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	confused := jwt.NewWithClaims(jwt.SigningMethodHS256, good())
	confused.Header["kid"] = "rsa"
	confusedTok, _ := confused.SignedString(pubPEM)
	confusedDER, _ := confused.SignedString(pubDER)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	otherKey := newSigner(t, "rsa", jwt.SigningMethodRS256) // same kid, another key
	ecAsRSA := ecKey
	ecAsRSA.kid = "rsa"

	tests := []struct {
		name  string
		v     *Verifier
		token string
		want  string
	}{
		{"alg none", both, none, "alg"},
		{"HS256 signed with the RSA public key (PEM)", jwksOnly, confusedTok, "alg"},
		{"HS256 signed with the RSA public key (DER)", jwksOnly, confusedDER, "alg"},
		{"HS256 signed with the RSA public key, secret also set", both, confusedTok, "signature"},
		{"HS256 with only a JWK Set", jwksOnly, hs256(t, secret, good()), "alg"},
		{"HS256 with another secret", both, hs256(t, []byte("another-secret"), good()), "signature"},
		{"RS256 from another key, same kid", both, otherKey.sign(t, good()), "signature"},
		{"unknown kid", both, newSigner(t, "nobody", jwt.SigningMethodES256).sign(t, good()), "kid"},
		{"EC key named by an RSA kid", both, ecAsRSA.sign(t, good()), "fit"},
		{"wrong iss", both, rsaKey.sign(t, good("iss", "https://evil.example")), "iss"},
		{"missing iss", both, rsaKey.sign(t, good("iss", nil)), "iss"},
		{"wrong aud", both, rsaKey.sign(t, good("aud", "other")), "aud"},
		{"wrong aud array", both, rsaKey.sign(t, good("aud", []string{"a", "b"})), "aud"},
		{"missing aud", both, rsaKey.sign(t, good("aud", nil)), "aud"},
		{"before nbf", both, rsaKey.sign(t, good("nbf", now.Add(time.Minute).Unix())), "nbf"},
		{"expired", both, rsaKey.sign(t, good("exp", now.Add(-time.Second).Unix())), "expired"},
		{"no exp", both, rsaKey.sign(t, good("exp", nil)), "exp"},
		{"exp a string", both, rsaKey.sign(t, good("exp", "9999999999")), "not a number"},
		{"iat a string", both, rsaKey.sign(t, good("iat", "1")), "not a number"},
		{"exp - iat past 24 h", both, rsaKey.sign(t, good("iat", now.Add(-time.Hour).Unix(), "exp", now.Add(23*time.Hour+time.Minute).Unix())), "longer"},
		{"exp past now + 24 h, no iat", both, rsaKey.sign(t, good("iat", nil, "exp", now.Add(25*time.Hour).Unix())), "longer"},
		{"exp far in the future", both, rsaKey.sign(t, good("exp", 1e300)), ""},
		{"no sub", both, rsaKey.sign(t, good("sub", nil)), "sub"},
		{"sub a number", both, rsaKey.sign(t, good("sub", 42)), "sub"},
		{"sub blank", both, rsaKey.sign(t, good("sub", "   ")), "sub"},
		{"sub with NUL", both, rsaKey.sign(t, good("sub", "al\x00ice")), "sub"},
		{"sub with a newline", both, rsaKey.sign(t, good("sub", "alice\n")), "sub"},
		{"sub with U+202E", both, rsaKey.sign(t, good("sub", "ecila\u202e")), "sub"},
		{"sub with U+2066", both, rsaKey.sign(t, good("sub", "\u2066alice")), "sub"},
		{"sub with U+200F", both, rsaKey.sign(t, good("sub", "alice\u200f")), "sub"},
		{"sub with U+061C", both, rsaKey.sign(t, good("sub", "alice\u061c")), "sub"},
		{"sub too long", both, rsaKey.sign(t, good("sub", strings.Repeat("x", 129))), "sub"},
		{"not a JWT", both, "hello", "well-formed"},
		{"kid not a string", both, func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, good())
			tok.Header["kid"] = 7
			s, _ := tok.SignedString(rsaKey.key)
			return s
		}(), "kid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.v.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("accepted: %+v", id)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
	// The good token passes, with aud as an array too: the cases above
	// fail for their own reason.
	for _, c := range []jwt.MapClaims{good(), good("aud", []string{"other", "presence"})} {
		if _, err := both.Verify(context.Background(), rsaKey.sign(t, c)); err != nil {
			t.Errorf("good token refused: %v", err)
		}
	}
	if _, err := both.Verify(context.Background(), hs256(t, secret, good())); err != nil {
		t.Errorf("HS256 with the secret refused: %v", err)
	}
}

// A name is cleaned, not refused: control and bidi characters go, the rest
// stays, and a name with nothing left falls back to the user id.
func TestNames(t *testing.T) {
	secret := []byte("s")
	v, _ := New(Config{Secret: secret})
	now := time.Now()
	for name, want := range map[string]string{
		"Zoë Quinn":                   "Zoë Quinn",
		"  Bob\u202e  ":               "Bob",
		"\u2067Mallory\u2069":         "Mallory",
		"a\x00b\nc":                   "abc",
		"\u200f":                      "alice",
		"עדי":                         "עדי",
		strings.Repeat("n", 200):      strings.Repeat("n", MaxNameLen),
		"Ann \u061cSmith\u200e":       "Ann Smith",
		strings.Repeat(" ", 3) + "\t": "alice",
	} {
		id, err := v.Verify(context.Background(), hs256(t, secret, claims(now, "alice", "name", name)))
		if err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		if id.Name != want {
			t.Errorf("name %q became %q, want %q", name, id.Name, want)
		}
	}
}

// Roles are read at -roles-claim only: a dotted path into nested objects
// (Keycloak), a key that holds dots itself (Auth0), or a space-separated
// string; roles elsewhere, or none, make no admin.
func TestRoles(t *testing.T) {
	secret := []byte("s")
	now := time.Now()
	tests := []struct {
		claim, role string
		claims      jwt.MapClaims
		admin       bool
	}{
		{"", "", claims(now, "a", "roles", []string{"user", "admin"}), true},
		{"", "", claims(now, "a", "roles", "user admin"), true},
		{"", "", claims(now, "a", "roles", []string{"administrator"}), false},
		{"", "", claims(now, "a"), false},
		{"", "", claims(now, "a", "roles", map[string]any{"admin": true}), false},
		{"realm_access.roles", "", claims(now, "a", "realm_access", map[string]any{"roles": []string{"admin"}}), true},
		{"realm_access.roles", "", claims(now, "a", "roles", []string{"admin"}), false},
		{"resource_access.presence.roles", "presence-admin",
			claims(now, "a", "resource_access", map[string]any{"presence": map[string]any{"roles": []string{"presence-admin"}}}), true},
		{"https://presence.example.com/roles", "", claims(now, "a", "https://presence.example.com/roles", []string{"admin"}), true},
		{"https://presence.example.com/roles", "", claims(now, "a", "roles", []string{"admin"}), false},
		{"groups", "presence-admins", claims(now, "a", "groups", []string{"presence-admins"}, "roles", []string{"admin"}), true},
		{"groups", "presence-admins", claims(now, "a", "roles", []string{"admin"}), false},
	}
	for _, tt := range tests {
		v, err := New(Config{Secret: secret, RolesClaim: tt.claim, AdminRole: tt.role})
		if err != nil {
			t.Fatal(err)
		}
		id, err := v.Verify(context.Background(), hs256(t, secret, tt.claims))
		if err != nil {
			t.Fatal(err)
		}
		if id.Admin != tt.admin {
			t.Errorf("-roles-claim %q -admin-role %q, claims %v: admin %v, want %v", tt.claim, tt.role, tt.claims, id.Admin, tt.admin)
		}
	}
}

// The provider rotates its key: a token of the new kid makes the verifier
// fetch the set at once and is accepted; the old kid, gone from the set,
// is refused. Unknown kids refetch at most once per 10 s.
func TestRotation(t *testing.T) {
	oldKey := newSigner(t, "2026-11", jwt.SigningMethodRS256)
	newKey := newSigner(t, "2026-12", jwt.SigningMethodEdDSA)
	p := newIDP(t, oldKey)
	clk := &clock{now: time.Now()}
	v := startVerifier(t, Config{JWKSURL: p.srv.URL, Now: clk.Now})
	loaded(t, v, p)
	verify := func(s signer) error {
		_, err := v.Verify(context.Background(), s.sign(t, claims(clk.Now(), "alice")))
		return err
	}
	if err := verify(oldKey); err != nil {
		t.Fatal(err)
	}

	// Right after the first fetch: periodic fetches do not count against
	// the refetch limit.
	p.set(false, newKey)
	if err := verify(newKey); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if n := p.served.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (the first and one for the new kid)", n)
	}
	if err := verify(oldKey); err == nil || !strings.Contains(err.Error(), "kid") {
		t.Errorf("token of the retired key: %v", err)
	}
	// Within 10 s of that refetch, unknown kids cost no fetch at all.
	stranger := newSigner(t, "nobody", jwt.SigningMethodES256)
	for range 20 {
		if verify(stranger) == nil {
			t.Fatal("unknown kid accepted")
		}
	}
	if n := p.served.Load(); n != 2 {
		t.Errorf("%d fetches after a flood of unknown kids within 10 s, want 2", n)
	}
	// 10 s later, a burst of them at once costs one fetch.
	clk.Add(10 * time.Second)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { verify(stranger) })
	}
	wg.Wait()
	if n := p.served.Load(); n != 3 {
		t.Errorf("%d fetches after a burst of unknown kids 10 s later, want 3", n)
	}
}

// The set is fetched again every RefreshInterval without any token asking.
func TestPeriodicRefresh(t *testing.T) {
	p := newIDP(t, newSigner(t, "k", jwt.SigningMethodES256))
	startVerifier(t, Config{JWKSURL: p.srv.URL, RefreshInterval: 20 * time.Millisecond})
	for i := range 3 {
		select {
		case <-p.requests:
		case <-time.After(5 * time.Second):
			t.Fatalf("fetch %d did not come", i+1)
		}
	}
}

// With the provider down, the verifier starts, says why it is not ready,
// refuses its tokens with a sentence saying so, and retries on its own; once
// the set is served, the same token passes.
func TestJWKSUnreachable(t *testing.T) {
	key := newSigner(t, "k", jwt.SigningMethodES384)
	p := newIDP(t, key)
	p.set(true, key)
	v := startVerifier(t, Config{JWKSURL: p.srv.URL})
	<-p.requests
	eventually(t, "Ready says why", func() bool { err := v.Ready(); return err != nil && strings.Contains(err.Error(), "502") })
	tok := key.sign(t, claims(time.Now(), "alice"))
	if _, err := v.Verify(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "not loaded") {
		t.Errorf("Verify with no keys: %v", err)
	}
	p.set(false, key)
	loaded(t, v, p)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Errorf("after the set loaded: %v", err)
	}
}

// A set's keys that cannot sign (encryption keys, shared secrets, short
// RSA keys) are skipped; a set with none left does not load.
func TestJWKSContents(t *testing.T) {
	good := newSigner(t, "good", jwt.SigningMethodES256)
	goodJWK, _ := jwkset.NewJWKFromKey(good.key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "good"}})
	// A 512-bit modulus (crypto/rsa no longer makes such keys).
	n := new(big.Int).SetBit(big.NewInt(1), 511, 1)
	small := jwkset.JWKMarshal{KTY: jwkset.KtyRSA, KID: "small", E: "AQAB", N: base64.RawURLEncoding.EncodeToString(n.Bytes())}
	enc := goodJWK.Marshal()
	enc.KID, enc.USE = "enc", jwkset.UseEnc
	oct := jwkset.JWKMarshal{KTY: jwkset.KtyOct, KID: "oct", K: "c2VjcmV0"}
	var docs = map[string]jwkset.JWKSMarshal{
		"mixed":   {Keys: []jwkset.JWKMarshal{small, enc, oct, goodJWK.Marshal()}},
		"useless": {Keys: []jwkset.JWKMarshal{small, enc, oct}},
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { json.NewEncoder(w).Encode(doc) }))
			defer srv.Close()
			var logs bytes.Buffer
			v, _ := New(Config{JWKSURL: srv.URL, Log: zerolog.New(&logs)})
			err := v.keys.refresh(context.Background())
			for _, why := range []string{"fewer than 1024", `not sig`, `\"oct\" is not RSA`} {
				if !strings.Contains(logs.String(), why) {
					t.Errorf("no key skipped because %s; logs:\n%s", why, logs.String())
				}
			}
			if name == "useless" {
				if err == nil || v.Ready() == nil {
					t.Errorf("a set with no usable key loaded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(v.keys.snapshot()); got != 1 {
				t.Errorf("%d keys kept, want 1", got)
			}
			hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(time.Now(), "a"))
			hs.Header["kid"] = "oct"
			tok, _ := hs.SignedString([]byte("secret"))
			if _, err := v.Verify(context.Background(), tok); err == nil {
				t.Error("HS256 with an oct key of the set accepted")
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	for _, cfg := range []Config{{}, {JWKSURL: "file:///etc/passwd"}, {JWKSURL: "not a url"}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// FuzzVerify: no input crashes the verifier, and nothing it accepts breaks
// the rules on sub.
func FuzzVerify(f *testing.F) {
	secret := []byte("fuzz-secret")
	now := time.Now()
	for _, c := range []jwt.MapClaims{
		claims(now, "alice"), claims(now, "a\u202e"), claims(now, "b", "exp", "1"),
		claims(now, "c", "roles", []any{1, nil, "admin"}), claims(now, "d", "aud", []any{1}),
	} {
		f.Add(hs256(f, secret, c))
	}
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	v, err := New(Config{Secret: secret, Audience: "x"})
	if err != nil {
		f.Fatal(err)
	}
	lax, _ := New(Config{Secret: secret, AllowNoExp: true})
	f.Fuzz(func(t *testing.T, token string) {
		for _, v := range []*Verifier{v, lax} {
			id, err := v.Verify(context.Background(), token)
			if err != nil {
				if err.Error() == "" {
					t.Error("an error with no sentence")
				}
				continue
			}
			if CheckUser(id.User) != nil || id.Name == "" {
				t.Errorf("accepted %+v", id)
			}
		}
	})
}

// FuzzClaims signs whatever payload it is given, so the claim checks (not
// just the signature) see hostile input: strings for numbers, huge and
// negative times, nested roles, control characters.
func FuzzClaims(f *testing.F) {
	secret := []byte("fuzz-secret")
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	for _, s := range []string{
		`{"sub":"alice","exp":` + exp + `}`,
		`{"sub":"alice","exp":"` + exp + `"}`,
		`{"sub":"a\u202e","exp":` + exp + `}`,
		`{"sub":" ","exp":` + exp + `,"name":"\u0000"}`,
		`{"sub":"a","exp":1e400,"iat":-1e400}`,
		`{"sub":"a","exp":` + exp + `,"roles":{"x":[1,2]},"realm_access":{"roles":"admin"}}`,
		`{"sub":["a"],"exp":` + exp + `}`,
		`[]`, `null`, `{"exp":` + exp + `,"nbf":"soon"}`,
	} {
		f.Add([]byte(s))
	}
	v, err := New(Config{Secret: secret, RolesClaim: "realm_access.roles"})
	if err != nil {
		f.Fatal(err)
	}
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		unsigned := head + "." + base64.RawURLEncoding.EncodeToString(payload)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(unsigned))
		tok := unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		id, err := v.Verify(context.Background(), tok)
		if err != nil {
			return
		}
		if CheckUser(id.User) != nil || id.Name == "" || CleanName(id.Name) != id.Name {
			t.Errorf("accepted %+v", id)
		}
		if d := time.Until(id.Expires); id.Expires.IsZero() || d > 24*time.Hour {
			t.Errorf("accepted exp %v", id.Expires)
		}
	})
}

// BenchmarkVerify: the cost of one hello's token check per algorithm.
func BenchmarkVerify(b *testing.B) {
	secret := []byte("bench-secret")
	keys := []signer{
		newSigner(b, "rs", jwt.SigningMethodRS256), newSigner(b, "es", jwt.SigningMethodES256),
		newSigner(b, "ed", jwt.SigningMethodEdDSA),
	}
	v, err := New(Config{Secret: secret, JWKSURL: "http://127.0.0.1:1/unused"})
	if err != nil {
		b.Fatal(err)
	}
	v.keys.keys, v.keys.loaded = map[string]publicKey{}, true
	for _, k := range keys {
		v.keys.keys[k.kid] = publicKey{kid: k.kid, key: k.key.Public()}
	}
	now := time.Now()
	tokens := map[string]string{"HS256": hs256(b, secret, claims(now, "alice"))}
	for _, k := range keys {
		tokens[k.method.Alg()] = k.sign(b, claims(now, "alice"))
	}
	for alg, tok := range tokens {
		b.Run(alg, func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
