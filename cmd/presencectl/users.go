package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/presenced/presenced/web/wire"
)

// The verbs of this file act for users, which only the HTTP API does for a
// caller with no connection: they always go over it.

// runStatus is `presencectl status set USER STATUS [-text T] [-until D]`.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("presencectl status", flag.ContinueOnError)
	text := fs.String("text", "", "the status text, up to 120 characters")
	until := fs.String("until", "", "when the status ends: a duration from now (1h, 90m) or an RFC 3339 time (default: never)")
	return userCommand(ctx, fs, args, 3, stdout, stderr,
		func(pos []string) (apiRequest, error) {
			if len(pos) != 3 || pos[0] != "set" {
				return apiRequest{}, errors.New("say: status set USER online|away|busy|offline")
			}
			body := map[string]any{"status": pos[2]}
			if *text != "" {
				body["text"] = *text
			}
			if *until != "" {
				if d, err := time.ParseDuration(*until); err == nil {
					body["duration_s"] = int(d.Round(time.Second).Seconds())
				} else if t, err := time.Parse(time.RFC3339, *until); err == nil {
					body["until"] = t.Format(time.RFC3339)
				} else {
					return apiRequest{}, fmt.Errorf("-until %q is neither a duration nor an RFC 3339 time", *until)
				}
			}
			return apiRequest{http.MethodPut, "/users/" + url.PathEscape(pos[1]) + "/status", body}, nil
		},
		func(w io.Writer, body []byte) error {
			var s wire.Self
			if err := decodeJSON(body, &s); err != nil {
				return err
			}
			fmt.Fprintf(w, "status %s (chosen: %s)", s.Status, s.Manual)
			if s.Text != "" {
				fmt.Fprintf(w, " %q", s.Text)
			}
			fmt.Fprintln(w)
			return nil
		})
}

// runQuery is `presencectl query USER...`.
func runQuery(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("presencectl query", flag.ContinueOnError)
	return userCommand(ctx, fs, args, wire.MaxUsers, stdout, stderr,
		func(pos []string) (apiRequest, error) {
			if len(pos) == 0 {
				return apiRequest{}, errors.New("name at least one user")
			}
			return apiRequest{http.MethodPost, "/presence/query", map[string]any{"users": pos}}, nil
		},
		func(w io.Writer, body []byte) error {
			var us struct {
				Users []wire.Entry `json:"users"`
			}
			if err := decodeJSON(body, &us); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tSTATUS\tTEXT\tSINCE\tLAST SEEN")
			for _, e := range us.Users {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ID, e.Status, e.Text, timeString(e.Since), timeString(e.LastSeen))
			}
			return tw.Flush()
		})
}

// userCommand runs one HTTP API call for a runner: parse the flags, build
// the request from the positional arguments, make it and print the answer
// with show, or as JSON with -json.
func userCommand(ctx context.Context, fs *flag.FlagSet, args []string, maxPos int, stdout, stderr io.Writer,
	build func(pos []string) (apiRequest, error), show func(w io.Writer, body []byte) error) int {
	fs.SetOutput(stderr)
	var a adminFlags
	a.register(fs)
	pos, err := parseInterleaved(fs, args, maxPos)
	if err != nil {
		return usageError(fs, err)
	}
	req, err := build(pos)
	if err != nil {
		return usageError(fs, err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	tr := newTransport(netip.Addr{})
	defer tr.CloseIdleConnections()
	body, err := a.call(ctx, &http.Client{Transport: tr}, req)
	if err != nil {
		return fail(stderr, err)
	}
	if a.json {
		fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
		return exitOK
	}
	if err := show(stdout, body); err != nil {
		return fail(stderr, err)
	}
	return exitOK
}

func timeString(t *wire.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

// decodeJSON decodes an answer of the API, saying which when it is not
// what was expected.
func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("the server answered %q: %w", body, err)
	}
	return nil
}
