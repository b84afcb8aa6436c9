package web

import (
	"bytes"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/web/wire"
)

// TestHandEncoders checks the hand-written presence and snapshot encoders
// against the generic path through wire.Encode.
func TestHandEncoders(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("x", 3600))
	cases := []hub.Entries{
		{},
		{{User: "never-seen"}},
		{{User: "a", Status: presence.Busy, Text: "In <a> \"meeting\"", Custom: "c-1", Since: at, LastSeen: at.Add(time.Hour)}},
		{{User: "d", Disabled: true, Text: "hidden", Since: at}, {User: "é\u2028", Status: presence.Away, Since: at}},
	}
	for _, es := range cases {
		ws := make([]wire.Entry, len(es))
		for i := range es {
			ws[i] = new(entryBuf).entry(&es[i])
		}
		want := wire.Encode(wire.Presence{Type: wire.TypePresence, Users: ws})
		if got := encodePresence(nil, es); !bytes.Equal(got, want) {
			t.Errorf("encodePresence\n got %s\nwant %s", got, want)
		}
		for _, id := range []string{"", "17", "<&>"} {
			want := wire.Encode(wire.Result{Type: wire.TypeResult, ID: id, OK: true, Users: &ws})
			if got := encodeMessage(nil, &hub.Reply{RequestID: id, Result: es}, identity{}, "", 0); !bytes.Equal(got, want) {
				t.Errorf("snapshot result\n got %s\nwant %s", got, want)
			}
		}
	}
}

// TestEveryResultEncodes: each of the hub's result types has its encoding.
func TestEveryResultEncodes(t *testing.T) {
	for _, r := range []hub.Result{nil, hub.Entries{}, hub.SelfResult{}, hub.PrefsResult{}, hub.StatusResult{},
		hub.StatusPage{}, hub.ServiceResult{}, hub.Stats{}, hub.SettingsResult{}} {
		b := encodeMessage(nil, &hub.Reply{RequestID: "1", Result: r}, identity{}, "", 0)
		if f, err := wire.DecodeFrame(b); err != nil || f.Type != wire.TypeResult || !f.OK {
			t.Errorf("%T encodes as %s", r, b)
		}
	}
}

// TestErrorCodesMatch: every error code the hub answers with is the
// protocol's, under the same name, so that the web layer passes hub codes
// through unchanged. The constants are read from the sources, so a code
// added to one list and not the other fails here.
func TestErrorCodesMatch(t *testing.T) {
	hubCodes, wireCodes := codeConsts(t, "../hub"), codeConsts(t, "wire")
	if len(hubCodes) == 0 {
		t.Fatal("no Code constants found in hub")
	}
	for name, v := range hubCodes {
		if w, ok := wireCodes[name]; !ok || w != v {
			t.Errorf("hub.%s = %q, wire.%s = %q: want the same code", name, v, name, w)
		}
	}
}

// codeConsts returns the string constants named Code… of the package in dir.
func codeConsts(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	fset := gotoken.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != gotoken.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == gotoken.STRING {
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						consts[id.Name] = v
					}
				}
			}
		}
	}
	return consts
}
