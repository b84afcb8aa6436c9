package main

import (
	"runtime/debug"
	"strings"
)

// version says which build this is, from what the Go toolchain recorded:
// the module version (a tag, or "(devel)" for a build from a work tree),
// the commit and its time, whether the tree had uncommitted changes, and
// the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "presenced (no build info)"
	}
	parts := []string{"presenced", bi.Main.Version}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		parts = append(parts, rev[:min(len(rev), 12)])
	}
	if t := settings["vcs.time"]; t != "" {
		parts = append(parts, t)
	}
	if settings["vcs.modified"] == "true" {
		parts = append(parts, "(modified)")
	}
	return strings.Join(append(parts, bi.GoVersion), " ")
}
