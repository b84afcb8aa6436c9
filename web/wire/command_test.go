package wire

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		frame   string
		wantErr string // substring of the message; "" means valid
		wantID  string
	}{
		{`{"type":"ping","id":"1"}`, "", "1"},
		{`{"type":"hello","token":"t"}`, "", ""},
		{`{"type":"set_status","status":"busy","text":"  hi  "}`, "", ""},
		{`{"type":"subscribe","all":true}`, "", ""},
		{`{"type":"subscribe","users":["a"],"all":true}`, "not both", ""},
		{`{"type":"admin.statuses.list"}`, "", ""},
		{`{"type":"admin.statuses.list","limit":100}`, "", ""},
		{`{"type":"admin.statuses.list","limit":0}`, "limit must be 1..100", ""},
		{`{"type":"admin.statuses.list","limit":101}`, "limit must be 1..100", ""},
		{`{"type":"admin.service"}`, "enabled", ""},
		{`{"type":"set_prefs","id":"p"}`, "idle_limit_s or auto_away", "p"},
		{`{"type":"set_prefs","idle_limit_s":86401}`, "idle_limit_s", ""},
		{`{"type":"admin.statuses.update","custom":"x","presence":"busy"}`, "", ""},
		{`{"type":"admin.statuses.delete"}`, "custom", ""},
		{`{"type":"query","id":"q","users":"bob"}`, `"users" must be a array`, "q"},
		{`{"type":"ping","id":5}`, "malformed", ""},
		{`nope`, "malformed", ""},
		{`{"type":"warp","id":"w"}`, "unknown command type", "w"},
		{`{"id":"n"}`, "no type", "n"},
		{``, "malformed", ""},
	}
	for _, tt := range tests {
		c, err := Decode([]byte(tt.frame))
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("Decode(%s) = %v", tt.frame, err)
			}
		} else {
			var we *Error
			if !errors.As(err, &we) || we.Code != CodeBadRequest || !strings.Contains(we.Message, tt.wantErr) {
				t.Errorf("Decode(%s) error = %v, want bad_request containing %q", tt.frame, err, tt.wantErr)
			}
		}
		if c.ID != tt.wantID {
			t.Errorf("Decode(%s) id = %q, want %q", tt.frame, c.ID, tt.wantID)
		}
	}
	c, _ := Decode([]byte(`{"type":"set_status","status":"busy","text":"  hi  "}`))
	if *c.Text != "hi" {
		t.Errorf("text not trimmed: %q", *c.Text)
	}
	c, _ = Decode([]byte(`{"type":"admin.statuses.list"}`))
	if c.Limit == nil || *c.Limit != DefPageLimit {
		t.Errorf("default limit = %v", c.Limit)
	}
}

// FuzzDecode checks that no frame crashes the decoder, that every error is a
// bad_request with a message, and that what it accepts respects the limits.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"type":"hello","id":"1","token":"x.y.z","client":"web/1.0"}`,
		`{"type":"set_status","status":"busy","text":"In a meeting"}`,
		`{"type":"subscribe","users":["alice","bob"]}`,
		`{"type":"admin.statuses.list","query":"meet","offset":0,"limit":10}`,
		`{"type":"set_prefs","idle_limit_s":600,"auto_away":false}`,
		`{"type":"query","users":[1,2]}`,
		`{"type":"ping"} trailing`,
		"\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		c, err := Decode(frame)
		if utf8.RuneCountInString(c.ID) > MaxIDLen {
			t.Fatalf("id of %d characters returned", utf8.RuneCountInString(c.ID))
		}
		if err != nil {
			var we *Error
			if !errors.As(err, &we) || we.Code != CodeBadRequest || we.Message == "" {
				t.Fatalf("error %v is not a bad_request with a message", err)
			}
			return
		}
		if len(c.Users) > MaxUsers {
			t.Fatalf("%d users accepted", len(c.Users))
		}
		for _, u := range c.Users {
			if u == "" || utf8.RuneCountInString(u) > MaxUserIDLen {
				t.Fatalf("user id %q accepted", u)
			}
		}
		if c.Type == TypeAdminList && (c.Limit == nil || *c.Limit < 1 || *c.Limit > MaxPageLimit) {
			t.Fatalf("admin.statuses.list with limit %v accepted", c.Limit)
		}
		if c.Text != nil && utf8.RuneCountInString(*c.Text) > MaxTextLen {
			t.Fatalf("text of %d characters accepted", utf8.RuneCountInString(*c.Text))
		}
	})
}
