package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/presenced/presenced/web/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the command failed, or the server refused it
	exitUsage = 2 // bad arguments
)

// subcommands maps each subcommand to its runner. A runner parses its own
// arguments and returns the exit status.
var subcommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"token":    runToken,
	"load":     runLoad,
	"stats":    runStats,
	"service":  runService,
	"statuses": runStatuses,
	"settings": runSettings,
	"status":   runStatus,
	"query":    runQuery,
}

const usage = `usage: presencectl COMMAND [flags]

commands:
  token      print a signed token: -secret S -user ID [-admin] [-ttl 1h]
  load       open many connections and measure the server
  stats      print the server's connection counts and service state
  service    on|off: turn the presence service on or off
  statuses   list|create|update|delete: manage custom statuses
  settings   -idle-limit D: set the workspace idle limit
  status     set USER STATUS [-text T] [-until 1h]: set a user's status (HTTP API)
  query      USER...: print users' presence (HTTP API)

The admin commands use the HTTP API with -api-key or an http(s) -url,
else the WebSocket.

Run "presencectl COMMAND -h" for the flags of one.
`

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cmd, ok := subcommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "presencectl: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// parseInterleaved parses flags that may come before, between or after at
// most max positional arguments (so "service -url U on" and "service on
// -url U" both work), and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string, max int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, printedError{err} // the flag package has told the user
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		if len(pos) == max {
			return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// printedError is a flag parsing error that the flag package has printed.
type printedError struct{ err error }

func (e printedError) Error() string { return e.err.Error() }
func (e printedError) Unwrap() error { return e.err }

// usageError reports a bad command line and returns exitUsage; -h returns
// exitOK, its usage printed.
func usageError(fs *flag.FlagSet, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if !errors.As(err, new(printedError)) {
		fmt.Fprintf(fs.Output(), "%s: %v (-h for help)\n", fs.Name(), err)
	}
	return exitUsage
}

// fail prints err and returns exitFail. A protocol error prints as
// "presencectl: CODE: MESSAGE", whatever wraps it.
func fail(stderr io.Writer, err error) int {
	var we *wire.Error
	if errors.As(err, &we) {
		fmt.Fprintf(stderr, "presencectl: %s: %s\n", we.Code, we.Message)
	} else {
		fmt.Fprintf(stderr, "presencectl: %v\n", err)
	}
	return exitFail
}
