package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/presenced/presenced/store/redisstore"
)

// checkConfig reports, one line each, whether the flags and environment
// are valid (parseErr is what parsing them said) and the store they name is
// reachable, like nats-server -t. It returns an error, and so exit status 1,
// if anything failed.
func checkConfig(cfg config, parseErr error, w io.Writer) error {
	failed := 0
	line := func(verdict, msg string) {
		if verdict == "fail" {
			failed++
		}
		fmt.Fprintf(w, "%-4s  %s\n", verdict, msg)
	}
	if parseErr != nil {
		line("fail", parseErr.Error())
	} else {
		line("ok", "flags and environment")
		if msg := secretWarning(cfg); msg != "" {
			line("warn", msg)
		}
		for _, l := range []struct{ flag, addr string }{{"-addr", cfg.addr}, {"-admin-addr", cfg.adminAddr}} {
			if l.addr == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(l.addr); err != nil {
				line("fail", fmt.Sprintf("%s %q: %v", l.flag, l.addr, err))
			}
		}
		if err := checkStore(cfg); err != nil {
			line("fail", err.Error())
		} else if cfg.redis != "" {
			line("ok", "redis at "+redactedURL(cfg.redis)+" answers")
		} else {
			line("ok", "data folder "+cfg.data+" is writable")
		}
	}
	if failed > 0 {
		return fmt.Errorf("configuration is invalid: %d problem(s)", failed)
	}
	fmt.Fprintln(w, "configuration is valid")
	return nil
}

// checkStore checks that Redis answers, or that the data folder can be
// written. It does not open the embedded store: a running server holds it.
func checkStore(cfg config) error {
	if cfg.redis != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		st, err := redisstore.Open(ctx, cfg.redis, redisstore.Options{})
		if err != nil {
			return err
		}
		return st.Close()
	}
	dir := cfg.data
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	f, err := os.CreateTemp(dir, ".check-config-*")
	if err != nil {
		return fmt.Errorf("data folder %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(filepath.Join(dir, filepath.Base(f.Name())))
}

// secretWarning is a warning about a short token secret, outside -dev.
func secretWarning(cfg config) string {
	if cfg.dev || cfg.secret == "" || len(cfg.secret) >= minSecret {
		return ""
	}
	return fmt.Sprintf("-jwt-secret is %d bytes: use %d or more (openssl rand -base64 48), or tokens can be forged by guessing it", len(cfg.secret), minSecret)
}

// redactedURL is a Redis URL fit for logs: its password, if any, masked.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			return "(unparsable URL: " + uerr.Err.Error() + ")"
		}
		return "(unparsable URL)"
	}
	return u.Redacted()
}
