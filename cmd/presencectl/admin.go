package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/presenced/presenced/web/wire"
)

// defaultURL is the server's WebSocket endpoint at its default address.
const defaultURL = "ws://127.0.0.1:8080/ws"

// adminFlags are the flags every admin command shares: where the server
// is, who we are, and how to print.
type adminFlags struct {
	url     string
	apiKey  string
	token   string
	secret  string
	user    string
	admin   bool
	json    bool
	timeout time.Duration
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.url, "url", defaultURL, "the server's `URL`: ws(s)://HOST/ws for the socket, http(s)://HOST for the HTTP API")
	fs.StringVar(&a.apiKey, "api-key", os.Getenv(apiKeyEnv), "the server API `key`: use the HTTP API with it (default $"+apiKeyEnv+")")
	fs.StringVar(&a.token, "token", "", "the `JWT` to say hello with (default: minted with -secret, else fetched from /dev/token)")
	fs.StringVar(&a.secret, "secret", os.Getenv(secretEnv), "HS256 `secret` to mint a token with (default $"+secretEnv+")")
	fs.StringVar(&a.user, "user", "presencectl", "user `id` of a minted or dev token")
	fs.BoolVar(&a.admin, "admin", true, "give a minted or dev token the admin role")
	fs.BoolVar(&a.json, "json", false, "print the server's reply as JSON")
	fs.DurationVar(&a.timeout, "timeout", 10*time.Second, "give up after this long")
}

// do sends one command and returns its reply: over the HTTP API with an
// API key or an http(s) -url, else over a WebSocket.
func (a *adminFlags) do(ctx context.Context, cmd wire.Command) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	tr := newTransport(netip.Addr{})
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	if a.overHTTP() {
		return a.doHTTP(ctx, hc, cmd)
	}
	tok, err := a.userToken(ctx, hc)
	if err != nil {
		return nil, err
	}
	c, _, err := dial(ctx, a.url, tok, dialOptions{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	defer c.close()
	return c.request(ctx, cmd)
}

// userToken is the token to act with: -token, or minted with -secret, or
// fetched from the server's /dev/token.
func (a *adminFlags) userToken(ctx context.Context, hc *http.Client) (string, error) {
	switch {
	case a.token != "":
		return a.token, nil
	case a.secret != "":
		return mintToken(a.secret, a.user, "", a.admin, 10*time.Minute)
	}
	return fetchDevToken(ctx, hc, a.url, a.user, a.admin)
}

// adminCommand runs one admin command for a runner: parse the flags (the
// runner's own registered beforehand), build the command from the
// positional arguments, send it and print the reply with show.
func adminCommand(ctx context.Context, fs *flag.FlagSet, a *adminFlags, args []string, maxPos int, stdout, stderr io.Writer,
	build func(pos []string) (wire.Command, error), show func(w io.Writer, r *reply)) int {
	fs.SetOutput(stderr)
	a.register(fs)
	pos, err := parseInterleaved(fs, args, maxPos)
	if err != nil {
		return usageError(fs, err)
	}
	cmd, err := build(pos)
	if err != nil {
		return usageError(fs, err)
	}
	r, err := a.do(ctx, cmd)
	if err != nil {
		return fail(stderr, err)
	}
	if a.json {
		var b bytes.Buffer
		if json.Indent(&b, r.Raw, "", "  ") != nil {
			b.Reset()
			b.Write(r.Raw)
		}
		fmt.Fprintln(stdout, b.String())
		return exitOK
	}
	show(stdout, r)
	return exitOK
}

// runStats is `presencectl stats`.
func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("presencectl stats", flag.ContinueOnError)
	var a adminFlags
	return adminCommand(ctx, fs, &a, args, 0, stdout, stderr,
		func([]string) (wire.Command, error) { return wire.Command{Type: wire.TypeAdminStats}, nil },
		func(w io.Writer, r *reply) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "connections\t%d\n", r.Connections)
			fmt.Fprintf(tw, "peak\t%d\n", r.Peak)
			fmt.Fprintf(tw, "users online\t%d\n", r.UsersOnline)
			fmt.Fprintf(tw, "limit\t%s\n", limitString(r.Limit))
			fmt.Fprintf(tw, "edition\t%s\n", r.Edition)
			if r.Service != nil {
				fmt.Fprintf(tw, "service\t%s\n", serviceString(r.Service.State, r.Service.Reason))
			}
			if r.ServiceSince != nil {
				fmt.Fprintf(tw, "service since\t%s\n", r.ServiceSince.Format(time.RFC3339))
			}
			tw.Flush()
		})
}

// runService is `presencectl service on|off`.
func runService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("presencectl service", flag.ContinueOnError)
	var a adminFlags
	return adminCommand(ctx, fs, &a, args, 1, stdout, stderr,
		func(pos []string) (wire.Command, error) {
			if len(pos) != 1 || (pos[0] != "on" && pos[0] != "off") {
				return wire.Command{}, errors.New("say on or off")
			}
			on := pos[0] == "on"
			return wire.Command{Type: wire.TypeAdminService, Enabled: &on}, nil
		},
		func(w io.Writer, r *reply) {
			if r.Service == nil {
				fmt.Fprintln(w, "ok")
				return
			}
			s := r.Service
			fmt.Fprintf(w, "service %s, %d connections, limit %s\n",
				serviceString(s.State, s.Reason), s.Connections, limitString(s.Limit))
		})
}

// runStatuses is `presencectl statuses list|create|update|delete`.
func runStatuses(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("presencectl statuses", flag.ContinueOnError)
	var a adminFlags
	query := fs.String("query", "", "list: only names containing this, case-insensitively")
	offset := fs.Int("offset", 0, "list: skip this many")
	limit := fs.Int("limit", 0, "list: at most this many, 1..100 (default 50)")
	id := fs.String("id", "", "update, delete: the custom status `id`")
	name := fs.String("name", "", "create, update: the status `name`, 1..64 characters")
	presence := fs.String("presence", "", "create, update: online, away, busy or offline")
	allowed := map[string][]string{
		"list":   {"query", "offset", "limit"},
		"create": {"name", "presence"},
		"update": {"id", "name", "presence"},
		"delete": {"id"},
	}
	return adminCommand(ctx, fs, &a, args, 1, stdout, stderr,
		func(pos []string) (wire.Command, error) {
			if len(pos) != 1 || allowed[pos[0]] == nil {
				return wire.Command{}, errors.New("say list, create, update or delete")
			}
			op := pos[0]
			var bad error
			var pageLimit *int // only when given: the server checks it
			fs.Visit(func(f *flag.Flag) {
				if f.Name == "limit" {
					pageLimit = limit
				}
				switch f.Name {
				case "query", "offset", "limit", "id", "name", "presence":
					for _, ok := range allowed[op] {
						if ok == f.Name {
							return
						}
					}
					bad = fmt.Errorf("-%s does not go with %s", f.Name, op)
				}
			})
			if bad != nil {
				return wire.Command{}, bad
			}
			switch op {
			case "list":
				return wire.Command{Type: wire.TypeAdminList, Query: *query, Offset: *offset, Limit: pageLimit}, nil
			case "create":
				if *name == "" || *presence == "" {
					return wire.Command{}, errors.New("create needs -name and -presence")
				}
				return wire.Command{Type: wire.TypeAdminCreate, Name: *name, Presence: *presence}, nil
			case "update":
				if *id == "" || *name == "" || *presence == "" {
					return wire.Command{}, errors.New("update needs -id, -name and -presence")
				}
				return wire.Command{Type: wire.TypeAdminUpdate, Custom: *id, Name: *name, Presence: *presence}, nil
			default:
				if *id == "" {
					return wire.Command{}, errors.New("delete needs -id")
				}
				return wire.Command{Type: wire.TypeAdminDelete, Custom: *id}, nil
			}
		},
		func(w io.Writer, r *reply) {
			if r.Status != nil {
				fmt.Fprintf(w, "%s\t%s\t%s\n", r.Status.ID, r.Status.Name, r.Status.Presence)
				return
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPRESENCE")
			for _, s := range r.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ID, s.Name, s.Presence)
			}
			tw.Flush()
			fmt.Fprintf(w, "%d of %d\n", len(r.Items), r.Total)
		})
}

// runSettings is `presencectl settings -idle-limit D`.
func runSettings(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("presencectl settings", flag.ContinueOnError)
	var a adminFlags
	idle := fs.Duration("idle-limit", 0, "the workspace's default idle limit, 1m..24h")
	return adminCommand(ctx, fs, &a, args, 0, stdout, stderr,
		func([]string) (wire.Command, error) {
			if *idle <= 0 {
				return wire.Command{}, errors.New("-idle-limit is required")
			}
			s := int(idle.Seconds())
			return wire.Command{Type: wire.TypeAdminSettings, IdleLimitS: &s}, nil
		},
		func(w io.Writer, r *reply) {
			if r.Settings != nil {
				fmt.Fprintf(w, "idle limit %s\n", time.Duration(r.Settings.IdleLimitS)*time.Second)
				return
			}
			fmt.Fprintln(w, "ok")
		})
}

// serviceString says "enabled", or "disabled (reason)".
func serviceString(state string, reason *string) string {
	if reason != nil && *reason != "" {
		return state + " (" + *reason + ")"
	}
	return state
}

// limitString says the connection limit, or "none" on enterprise.
func limitString(limit *int) string {
	if limit == nil {
		return "none"
	}
	return strconv.Itoa(*limit)
}
