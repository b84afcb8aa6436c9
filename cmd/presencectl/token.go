package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// secretEnv names the environment variable that -secret defaults to, the
// server's own.
const secretEnv = "PRESENCE_JWT_SECRET"

// claims are the token claims the server reads.
type claims struct {
	Name  string   `json:"name,omitempty"`
	Roles []string `json:"roles,omitempty"`
	jwt.RegisteredClaims
}

// mintToken signs an HS256 token for user. A ttl of 0 leaves out exp,
// which only a server in dev mode accepts.
func mintToken(secret, user, name string, admin bool, ttl time.Duration) (string, error) {
	if secret == "" {
		return "", errors.New("mint token: empty secret")
	}
	now := time.Now()
	c := claims{Name: name, RegisteredClaims: jwt.RegisteredClaims{
		Subject:  user,
		IssuedAt: jwt.NewNumericDate(now),
	}}
	if admin {
		c.Roles = []string{"admin"}
	}
	if ttl > 0 {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

// devTokenURL is the /dev/token endpoint on the host of a WebSocket URL.
func devTokenURL(wsURL, user string, admin bool) (string, error) {
	u, err := httpURL(wsURL)
	if err != nil {
		return "", err
	}
	q := url.Values{"user": {user}}
	if admin {
		q.Set("admin", "1")
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/dev/token", RawQuery: q.Encode()}).String(), nil
}

// fetchDevToken asks a server in dev mode for a token, on the host of the
// WebSocket URL it serves.
func fetchDevToken(ctx context.Context, hc *http.Client, wsURL, user string, admin bool) (string, error) {
	u, err := devTokenURL(wsURL, user, admin)
	if err != nil {
		return "", fmt.Errorf("dev token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("dev token: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("dev token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("dev token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("dev token: GET %s: %s (is the server running with -dev? else give -token or -secret)", u, resp.Status)
	}
	var v struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Token == "" {
		return "", fmt.Errorf("dev token: GET %s: no token in the answer", u)
	}
	return v.Token, nil
}

// runToken is `presencectl token`: print a signed token.
func runToken(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("presencectl token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("secret", os.Getenv(secretEnv), "HS256 `secret` of the server (default $"+secretEnv+")")
	user := fs.String("user", "", "user `id` (the sub claim), required")
	name := fs.String("name", "", "display `name` (the name claim)")
	admin := fs.Bool("admin", false, `grant the "admin" role`)
	ttl := fs.Duration("ttl", time.Hour, "lifetime; 0 leaves out exp (accepted in dev mode only)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: presencectl token -secret S -user ID [-name N] [-admin] [-ttl 1h]")
		fs.PrintDefaults()
	}
	if _, err := parseInterleaved(fs, args, 0); err != nil {
		return usageError(fs, err)
	}
	switch {
	case *secret == "":
		return usageError(fs, errors.New("-secret is required"))
	case *user == "":
		return usageError(fs, errors.New("-user is required"))
	case *ttl < 0:
		return usageError(fs, errors.New("-ttl must not be negative"))
	}
	tok, err := mintToken(*secret, *user, *name, *admin, *ttl)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
