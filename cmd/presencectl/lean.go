package main

import "bytes"

// The load generator reads tens of thousands of frames a second, nearly
// all of them presence frames and the answers to its subscribes (100
// entries each). Decoding those whole, with their timestamps, took more CPU
// than the server spent writing them, and a load process that falls behind
// measures itself. So it reads them as the server writes them
// (web/wire.AppendEntry, web's encodePresence and encodeEntriesResult): the
// keys in that order, ids and statuses unescaped. A frame not of that shape
// reports false and is decoded whole.

var (
	leanPresencePrefix = []byte(`{"type":"presence","users":[`)
	leanResultPrefix   = []byte(`{"type":"result","id":"`)
	leanUsersOK        = []byte(`","ok":true,"users":[`)
	leanStatusKey      = []byte(`"status":"`)
	leanTextKey        = []byte(`","text":"`)
)

// leanEntry is what the load generator reads of a presence entry.
type leanEntry struct{ Status, Text string }

// leanPresence appends to buf the status and text of each entry of a
// presence frame. It reports false for a frame of another type or shape, or
// with a text that has escapes.
func leanPresence(b []byte, buf []leanEntry) ([]leanEntry, bool) {
	rest, ok := bytes.CutPrefix(b, leanPresencePrefix)
	if !ok {
		return buf, false
	}
	for {
		i := bytes.Index(rest, leanStatusKey)
		if i < 0 {
			return buf, true
		}
		rest = rest[i+len(leanStatusKey):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			return buf, false
		}
		status := rest[:j]
		if rest, ok = bytes.CutPrefix(rest[j:], leanTextKey); !ok {
			return buf, false
		}
		k := bytes.IndexByte(rest, '"')
		if k < 0 || bytes.IndexByte(rest[:k], '\\') >= 0 {
			return buf, false
		}
		buf = append(buf, leanEntry{Status: string(status), Text: string(rest[:k])})
		rest = rest[k:]
	}
}

// leanResult reads the id of a successful subscribe or query result
// without reading its entries.
func leanResult(b []byte) (id string, ok bool) {
	rest, ok := bytes.CutPrefix(b, leanResultPrefix)
	if !ok {
		return "", false
	}
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 || !bytes.HasPrefix(rest[j:], leanUsersOK) {
		return "", false
	}
	return string(rest[:j]), true
}
