package wire

import (
	"errors"
	"strings"
	"testing"
	"time"
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
		// Wave 2: expiry, bye, history.
		{`{"type":"set_status","status":"busy","until":"2026-05-01T15:30:00Z"}`, "", ""},
		{`{"type":"set_status","status":"busy","until":"2026-05-01T15:30:00.5+02:00"}`, "", ""},
		{`{"type":"set_status","status":"busy","duration_s":3600}`, "", ""},
		{`{"type":"set_status","status":"busy","until":null,"duration_s":null}`, "", ""},
		{`{"type":"set_status","id":"u","status":"busy","until":"tomorrow"}`, "RFC 3339", "u"},
		{`{"type":"set_status","status":"busy","until":"2026-05-01 15:30"}`, "RFC 3339", ""},
		{`{"type":"set_status","status":"busy","until":1767225600}`, `"until" must be a string`, ""},
		{`{"type":"set_status","status":"busy","until":"2026-05-01T15:30:00Z","duration_s":60}`, "not both", ""},
		{`{"type":"set_status","status":"busy","duration_s":59}`, "duration_s must be 60..31622400", ""},
		{`{"type":"set_status","status":"busy","duration_s":31622401}`, "duration_s", ""},
		{`{"type":"set_status","status":"busy","duration_s":0}`, "duration_s", ""},
		{`{"type":"set_status","status":"busy","duration_s":1.5}`, "malformed", ""},
		{`{"type":"set_custom_status","custom":"c","duration_s":31622400}`, "", ""},
		{`{"type":"set_custom_status","custom":"c","until":"x"}`, "RFC 3339", ""},
		{`{"type":"set_custom_status","custom":"c","until":"2026-05-01T15:30:00Z","duration_s":600}`, "not both", ""},
		{`{"type":"admin.statuses.create","name":"In a meeting","presence":"busy","duration_s":3600}`, "", ""},
		{`{"type":"admin.statuses.create","name":"In a meeting","presence":"busy","duration_s":null}`, "", ""},
		{`{"type":"admin.statuses.create","name":"x","presence":"busy","duration_s":30}`, "duration_s", ""},
		{`{"type":"admin.statuses.update","custom":"x","name":"x","presence":"busy","duration_s":-1}`, "duration_s", ""},
		{`{"type":"bye","id":"b"}`, "", "b"},
		{`{"type":"history"}`, "", ""},
		{`{"type":"history","user":"alice","limit":100}`, "", ""},
		{`{"type":"history","limit":0}`, "limit must be 1..100", ""},
		{`{"type":"history","limit":101}`, "limit must be 1..100", ""},
		{`{"type":"history","user":""}`, "", ""},
		{`{"type":"history","user":"` + strings.Repeat("u", 129) + `"}`, "longer than 128", ""},
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
	c, _ = Decode([]byte(`{"type":"history"}`))
	if *c.Limit != DefHistory {
		t.Errorf("default history limit = %d", *c.Limit)
	}
	c, _ = Decode([]byte(`{"type":"set_status","status":"busy","until":"2026-05-01T17:30:00+02:00"}`))
	if want := time.Date(2026, 5, 1, 15, 30, 0, 0, time.UTC); !c.UntilTime().Equal(want) {
		t.Errorf("UntilTime = %v, want %v", c.UntilTime(), want)
	}
	if c, _ = Decode([]byte(`{"type":"set_status","status":"busy"}`)); !c.UntilTime().IsZero() {
		t.Errorf("UntilTime without until = %v, want zero", c.UntilTime())
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
		`{"type":"set_status","status":"busy","until":"2026-05-01T15:30:00Z"}`,
		`{"type":"set_custom_status","custom":"c","duration_s":3600}`,
		`{"type":"admin.statuses.create","name":"Lunch","presence":"away","duration_s":3600}`,
		`{"type":"history","user":"alice","limit":5}`,
		`{"type":"bye"}`,
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
		if c.Until != nil && c.DurationS != nil {
			t.Fatalf("until and duration_s accepted together")
		}
		if c.Until != nil && c.UntilTime().IsZero() {
			t.Fatalf("until %q accepted but unreadable", *c.Until)
		}
		if d := c.DurationS; d != nil && (*d < MinDurationS || *d > MaxDurationS) {
			t.Fatalf("duration_s %d accepted", *d)
		}
		if c.Limit != nil && (*c.Limit < 1 || *c.Limit > MaxPageLimit) {
			t.Fatalf("limit %d accepted", *c.Limit)
		}
	})
}
