package wire

import (
	"unicode/utf8"
)

// AppendEntry appends e as a JSON object to dst, byte for byte as
// encoding/json would. Entries fill the frames every subscriber gets on
// every flush, so they are written by hand rather than through reflection.
func AppendEntry(dst []byte, e *Entry) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"status":`...)
	dst = appendString(dst, e.Status)
	dst = append(dst, `,"text":`...)
	dst = appendString(dst, e.Text)
	dst = append(dst, `,"custom":`...)
	if e.Custom == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendString(dst, *e.Custom)
	}
	dst = append(dst, `,"since":`...)
	dst = appendTime(dst, e.Since)
	dst = append(dst, `,"last_seen":`...)
	dst = appendTime(dst, e.LastSeen)
	dst = append(dst, `,"until":`...)
	dst = appendTime(dst, e.Until)
	dst = append(dst, `,"reason":`...)
	if e.Reason == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendString(dst, *e.Reason)
	}
	return append(dst, '}')
}

// AppendString appends s as a JSON string, as encoding/json would.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s quoted and escaped exactly as encoding/json does,
// with HTML escaping: controls, quotes, backslashes, <, >, &, invalid
// UTF-8 (as U+FFFD), U+2028 and U+2029.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
