// Package storetest is the contract suite every store.Store implementation
// runs: one set of subtests that pins down what the store package documents,
// so the embedded and the Redis backends cannot drift apart.
//
// A backend's test calls Run with a function that opens a fresh, empty store.
// Each subtest opens its own store and runs in parallel with the others, so
// open must be safe to call concurrently and must hand out stores that share
// no records (a separate file, a separate key prefix). The open function
// should close the store in t.Cleanup; Run closes some stores itself, so that
// Close must tolerate a store that is already closed.
//
// Tests that need to reopen the same data (persistence) cannot be written
// against an open function and belong in each backend's own tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// goroutines is how many callers the concurrency subtests race against each
// other: enough to interleave on every backend, few enough to stay fast.
const goroutines = 32

// Run runs the contract suite against the stores that open returns. open must
// return a fresh, empty store on every call.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CustomStatusesEmpty", testCustomStatusesEmpty},
		{"CreateAndList", testCreateAndList},
		{"CreateConflict", testCreateConflict},
		{"CreateDuplicateID", testCreateDuplicateID},
		{"CreateConcurrentSameName", testCreateConcurrentSameName},
		{"Update", testUpdate},
		{"UpdateNotFound", testUpdateNotFound},
		{"UpdateConflict", testUpdateConflict},
		{"UpdateOwnNameOtherCase", testUpdateOwnNameOtherCase},
		{"RenameFreesOldName", testRenameFreesOldName},
		{"Delete", testDelete},
		{"DeleteNotFound", testDeleteNotFound},
		{"UsersEmpty", testUsersEmpty},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserReplace", testUserReplace},
		{"PutUsers", testPutUsers},
		{"UserNotFound", testUserNotFound},
		{"ServiceDefault", testServiceDefault},
		{"ServiceRoundTrip", testServiceRoundTrip},
		{"Peak", testPeak},
		{"RaisePeakConcurrent", testRaisePeakConcurrent},
		{"Settings", testSettings},
		{"Ping", testPing},
		{"CanceledContext", testCanceledContext},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			tt.fn(t, s)
		})
	}
}

// custom returns a custom status with a fresh id, so subtests do not depend on
// how ids are minted.
func custom(id, name string, p presence.Status) status.Custom {
	return status.Custom{ID: id, Name: name, Presence: p}
}

// list returns the store's custom statuses keyed by id, failing the test on an
// error or a repeated id.
func list(t *testing.T, s store.Store) map[string]status.Custom {
	t.Helper()
	all, err := s.CustomStatuses(t.Context())
	if err != nil {
		t.Fatalf("CustomStatuses: %v", err)
	}
	byID := make(map[string]status.Custom, len(all))
	for _, cs := range all {
		if _, dup := byID[cs.ID]; dup {
			t.Fatalf("CustomStatuses returned id %q twice", cs.ID)
		}
		byID[cs.ID] = cs
	}
	return byID
}

// HasCustomStatuses fails the test for each of ids the store does not
// hold: the failover tests' check that every acknowledged create survived.
func HasCustomStatuses(t *testing.T, s store.Store, ids []string) {
	t.Helper()
	have := list(t, s)
	for _, id := range ids {
		if _, ok := have[id]; !ok {
			t.Errorf("acknowledged custom status %s is not in the store", id)
		}
	}
}

// wantStatuses fails the test unless the store holds exactly want.
func wantStatuses(t *testing.T, s store.Store, want ...status.Custom) {
	t.Helper()
	got := list(t, s)
	if len(got) != len(want) {
		t.Errorf("CustomStatuses = %v, want %v", got, want)
		return
	}
	for _, w := range want {
		if g, ok := got[w.ID]; !ok || g != w {
			t.Errorf("CustomStatuses[%q] = %+v (present %v), want %+v", w.ID, g, ok, w)
		}
	}
}

func mustCreate(t *testing.T, s store.Store, cs status.Custom) {
	t.Helper()
	if err := s.CreateCustomStatus(t.Context(), cs); err != nil {
		t.Fatalf("CreateCustomStatus(%+v): %v", cs, err)
	}
}

func testCustomStatusesEmpty(t *testing.T, s store.Store) {
	wantStatuses(t, s)
}

func testCreateAndList(t *testing.T, s store.Store) {
	lunch := custom("id-lunch", "Out for Lunch", presence.Away)
	meeting := custom("id-meeting", "In a meeting 📅", presence.Busy)
	meeting.Duration = time.Hour + 7 // odd on purpose: no rounding
	invisible := custom("id-invisible", "Heads down", presence.Offline)
	for _, cs := range []status.Custom{lunch, meeting, invisible} {
		mustCreate(t, s, cs)
	}
	wantStatuses(t, s, lunch, meeting, invisible)
}

func testCreateConflict(t *testing.T, s store.Store) {
	lunch := custom("id-lunch", "Out for Lunch", presence.Away)
	mustCreate(t, s, lunch)
	for _, name := range []string{"Out for Lunch", "out for lunch", "OUT FOR LUNCH"} {
		err := s.CreateCustomStatus(t.Context(), custom("id-other", name, presence.Busy))
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateCustomStatus(%q) = %v, want ErrConflict", name, err)
		}
	}
	wantStatuses(t, s, lunch)
}

// testCreateDuplicateID: ids are minted by the caller, and a second create
// with a used id must not silently replace the first status (nor leave its
// name reserved by nobody).
func testCreateDuplicateID(t *testing.T, s store.Store) {
	lunch := custom("id-1", "Lunch", presence.Away)
	mustCreate(t, s, lunch)
	if err := s.CreateCustomStatus(t.Context(), custom("id-1", "Gym", presence.Busy)); err == nil {
		t.Errorf("CreateCustomStatus with a used id succeeded")
	}
	wantStatuses(t, s, lunch)
	// The rejected create must not have reserved its name.
	mustCreate(t, s, custom("id-2", "Gym", presence.Busy))
}

func testCreateConcurrentSameName(t *testing.T, s store.Store) {
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range goroutines {
		wg.Go(func() {
			<-start
			// Vary the case too: uniqueness is case-insensitive.
			name := "Focus"
			if i%2 == 1 {
				name = "FOCUS"
			}
			errs[i] = s.CreateCustomStatus(t.Context(), custom(fmt.Sprintf("id-%d", i), name, presence.Busy))
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("goroutine %d: CreateCustomStatus = %v, want nil or ErrConflict", i, err)
		}
	}
	if created != 1 {
		t.Errorf("%d of %d concurrent creates of one name succeeded, want exactly 1", created, goroutines)
	}
	if got := list(t, s); len(got) != 1 {
		t.Errorf("store holds %d statuses after concurrent creates, want 1: %v", len(got), got)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	lunch := custom("id-lunch", "Lunch", presence.Away)
	gym := custom("id-gym", "Gym", presence.Away)
	mustCreate(t, s, lunch)
	mustCreate(t, s, gym)
	lunch.Name, lunch.Presence, lunch.Duration = "Long lunch", presence.Busy, 90*time.Minute
	if err := s.UpdateCustomStatus(t.Context(), lunch); err != nil {
		t.Fatalf("UpdateCustomStatus: %v", err)
	}
	wantStatuses(t, s, lunch, gym)
	// Back to no default duration: nothing of the old one may stay.
	lunch.Duration = 0
	if err := s.UpdateCustomStatus(t.Context(), lunch); err != nil {
		t.Fatalf("UpdateCustomStatus without a duration: %v", err)
	}
	wantStatuses(t, s, lunch, gym)
	// Same name, new presence only.
	lunch.Presence = presence.Offline
	if err := s.UpdateCustomStatus(t.Context(), lunch); err != nil {
		t.Fatalf("UpdateCustomStatus with an unchanged name: %v", err)
	}
	wantStatuses(t, s, lunch, gym)
}

func testUpdateNotFound(t *testing.T, s store.Store) {
	err := s.UpdateCustomStatus(t.Context(), custom("id-missing", "Ghost", presence.Busy))
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateCustomStatus of an unknown id = %v, want ErrNotFound", err)
	}
	// Nothing may have been created, and the name must still be free.
	wantStatuses(t, s)
	mustCreate(t, s, custom("id-new", "Ghost", presence.Busy))
}

func testUpdateConflict(t *testing.T, s store.Store) {
	lunch := custom("id-lunch", "Lunch", presence.Away)
	gym := custom("id-gym", "Gym", presence.Away)
	mustCreate(t, s, lunch)
	mustCreate(t, s, gym)
	for _, name := range []string{"Lunch", "lUNCH"} {
		err := s.UpdateCustomStatus(t.Context(), custom(gym.ID, name, presence.Busy))
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("UpdateCustomStatus to another's name %q = %v, want ErrConflict", name, err)
		}
	}
	wantStatuses(t, s, lunch, gym)
	// The failed rename must not have released gym's own name.
	err := s.CreateCustomStatus(t.Context(), custom("id-gym2", "gym", presence.Busy))
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateCustomStatus(%q) after a failed rename = %v, want ErrConflict", "gym", err)
	}
}

func testUpdateOwnNameOtherCase(t *testing.T, s store.Store) {
	lunch := custom("id-lunch", "lunch", presence.Away)
	mustCreate(t, s, lunch)
	lunch.Name = "LUNCH"
	if err := s.UpdateCustomStatus(t.Context(), lunch); err != nil {
		t.Fatalf("UpdateCustomStatus to its own name in another case: %v", err)
	}
	wantStatuses(t, s, lunch)
	// The name is still held, whatever its case now.
	err := s.CreateCustomStatus(t.Context(), custom("id-other", "Lunch", presence.Busy))
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateCustomStatus(%q) = %v, want ErrConflict", "Lunch", err)
	}
}

func testRenameFreesOldName(t *testing.T, s store.Store) {
	lunch := custom("id-lunch", "Lunch", presence.Away)
	mustCreate(t, s, lunch)
	lunch.Name = "Brunch"
	if err := s.UpdateCustomStatus(t.Context(), lunch); err != nil {
		t.Fatalf("UpdateCustomStatus: %v", err)
	}
	again := custom("id-again", "LUNCH", presence.Busy)
	mustCreate(t, s, again)
	wantStatuses(t, s, lunch, again)
	// And another status may take the freed name by renaming too.
	if err := s.UpdateCustomStatus(t.Context(), custom(again.ID, "brunch", presence.Busy)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateCustomStatus to the new name = %v, want ErrConflict", err)
	}
}

func testDelete(t *testing.T, s store.Store) {
	lunch := custom("id-lunch", "Lunch", presence.Away)
	gym := custom("id-gym", "Gym", presence.Away)
	mustCreate(t, s, lunch)
	mustCreate(t, s, gym)
	if err := s.DeleteCustomStatus(t.Context(), lunch.ID); err != nil {
		t.Fatalf("DeleteCustomStatus: %v", err)
	}
	wantStatuses(t, s, gym)
	// A deleted status frees its name, and its id may be updated no more.
	mustCreate(t, s, custom("id-lunch2", "lunch", presence.Busy))
	if err := s.UpdateCustomStatus(t.Context(), lunch); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateCustomStatus of a deleted id = %v, want ErrNotFound", err)
	}
	if err := s.DeleteCustomStatus(t.Context(), lunch.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteCustomStatus = %v, want ErrNotFound", err)
	}
}

func testDeleteNotFound(t *testing.T, s store.Store) {
	if err := s.DeleteCustomStatus(t.Context(), "id-missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteCustomStatus of an unknown id = %v, want ErrNotFound", err)
	}
}

func testUsersEmpty(t *testing.T, s store.Store) {
	users, err := s.Users(t.Context())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(users) != 0 {
		t.Errorf("Users on an empty store = %v, want none", users)
	}
}

// sameUser compares field by field because times must be compared with Equal:
// a store keeps the instant, not the location or the monotonic reading.
func sameUser(got, want store.User) bool {
	return got.ID == want.ID && got.Manual == want.Manual && got.Text == want.Text &&
		got.Custom == want.Custom && got.IdleLimit == want.IdleLimit &&
		got.AutoAway == want.AutoAway && got.LastSeen.Equal(want.LastSeen) && got.Until.Equal(want.Until)
}

func mustPutUser(t *testing.T, s store.Store, u store.User) {
	t.Helper()
	if err := s.PutUser(t.Context(), u); err != nil {
		t.Fatalf("PutUser(%+v): %v", u, err)
	}
}

func wantUser(t *testing.T, s store.Store, want store.User) {
	t.Helper()
	got, err := s.User(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("User(%q): %v", want.ID, err)
	}
	if !sameUser(got, want) {
		t.Errorf("User(%q) = %+v, want %+v", want.ID, got, want)
	}
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	users := []store.User{
		store.NewUser("u-new"),
		{
			ID:        "u-full",
			Manual:    presence.Busy,
			Text:      "On a call — back at 3 ☎️",
			Custom:    "id-call",
			IdleLimit: 90*time.Second + 250*time.Millisecond + 7, // odd on purpose: no rounding
			AutoAway:  false,
			LastSeen:  time.Date(2026, 3, 14, 15, 9, 26, 535897932, paris),
			Until:     time.Date(2026, 3, 14, 16, 0, 0, 1, paris),
		},
		{
			ID:       "u-invisible",
			Manual:   presence.Offline,
			AutoAway: true,
			LastSeen: time.Now(), // carries a monotonic reading and the local zone
		},
		{ID: "u-away", Manual: presence.Away, IdleLimit: time.Hour, AutoAway: false},
	}
	for _, u := range users {
		mustPutUser(t, s, u)
	}
	for _, u := range users {
		wantUser(t, s, u)
	}
	all, err := s.Users(t.Context())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(all) != len(users) {
		t.Fatalf("Users returned %d users, want %d: %+v", len(all), len(users), all)
	}
	byID := make(map[string]store.User, len(all))
	for _, u := range all {
		byID[u.ID] = u
	}
	for _, want := range users {
		if got, ok := byID[want.ID]; !ok || !sameUser(got, want) {
			t.Errorf("Users()[%q] = %+v (present %v), want %+v", want.ID, got, ok, want)
		}
	}
}

func testUserReplace(t *testing.T, s store.Store) {
	u := store.User{
		ID: "u-1", Manual: presence.Busy, Text: "busy", Custom: "id-x",
		IdleLimit: time.Minute, AutoAway: true, LastSeen: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Until: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC),
	}
	mustPutUser(t, s, u)
	// Every field back to its zero value: nothing of the first put may stay.
	cleared := store.User{ID: u.ID}
	mustPutUser(t, s, cleared)
	wantUser(t, s, cleared)
	all, err := s.Users(t.Context())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(all) != 1 {
		t.Errorf("Users after replacing one user = %+v, want one user", all)
	}
}

// testPutUsers: a batch stores each user as PutUser would, replacing
// what was there, and an empty batch is a no-op.
func testPutUsers(t *testing.T, s store.Store) {
	mustPutUser(t, s, store.User{ID: "u-0", Manual: presence.Busy, Text: "old", Custom: "id-x", AutoAway: true})
	var batch []store.User
	for i := range 300 { // more than one chunk of any pipeline or page
		batch = append(batch, store.User{ID: fmt.Sprintf("u-%d", i), Manual: presence.Away,
			Text: fmt.Sprintf("text %d", i), IdleLimit: time.Duration(i+1) * time.Second,
			LastSeen: time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC)})
	}
	if err := s.PutUsers(t.Context(), batch); err != nil {
		t.Fatalf("PutUsers: %v", err)
	}
	if err := s.PutUsers(t.Context(), nil); err != nil {
		t.Fatalf("PutUsers(nil): %v", err)
	}
	for _, u := range []store.User{batch[0], batch[1], batch[299]} {
		wantUser(t, s, u) // u-0's custom and auto_away are gone
	}
	all, err := s.Users(t.Context())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(all) != len(batch) {
		t.Errorf("Users after a batch of %d = %d users", len(batch), len(all))
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	mustPutUser(t, s, store.NewUser("u-known"))
	if _, err := s.User(t.Context(), "u-unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("User of an unknown id = %v, want ErrNotFound", err)
	}
}

func sameService(got, want store.Service) bool {
	return got.Enabled == want.Enabled && got.Reason == want.Reason && got.Since.Equal(want.Since)
}

func testServiceDefault(t *testing.T, s store.Store) {
	got, err := s.Service(t.Context())
	if err != nil {
		t.Fatalf("Service: %v", err)
	}
	if want := (store.Service{Enabled: true}); !sameService(got, want) {
		t.Errorf("Service on an empty store = %+v, want %+v", got, want)
	}
}

func testServiceRoundTrip(t *testing.T, s store.Store) {
	for _, want := range []store.Service{
		{Enabled: false, Reason: "connection_limit", Since: time.Date(2026, 2, 3, 4, 5, 6, 789, time.UTC)},
		{Enabled: false, Reason: "admin", Since: time.Now()},
		// Written back to its default, it must read as written, not as "never".
		{Enabled: true},
		{Enabled: true, Since: time.Date(2026, 2, 3, 5, 0, 0, 0, time.FixedZone("X", -7*3600))},
	} {
		if err := s.PutService(t.Context(), want); err != nil {
			t.Fatalf("PutService(%+v): %v", want, err)
		}
		got, err := s.Service(t.Context())
		if err != nil {
			t.Fatalf("Service: %v", err)
		}
		if !sameService(got, want) {
			t.Errorf("Service = %+v, want %+v", got, want)
		}
	}
}

func wantPeak(t *testing.T, s store.Store, want int) {
	t.Helper()
	got, err := s.Peak(t.Context())
	if err != nil {
		t.Fatalf("Peak: %v", err)
	}
	if got != want {
		t.Errorf("Peak = %d, want %d", got, want)
	}
}

func testPeak(t *testing.T, s store.Store) {
	wantPeak(t, s, 0)
	for _, step := range []struct{ raise, want int }{
		{5, 5}, {3, 5}, {5, 5}, {7, 7}, {0, 7},
	} {
		got, err := s.RaisePeak(t.Context(), step.raise)
		if err != nil {
			t.Fatalf("RaisePeak(%d): %v", step.raise, err)
		}
		if got != step.want {
			t.Errorf("RaisePeak(%d) = %d, want %d", step.raise, got, step.want)
		}
		wantPeak(t, s, step.want)
	}
	if err := s.ResetPeak(t.Context(), 2); err != nil {
		t.Fatalf("ResetPeak(2): %v", err)
	}
	wantPeak(t, s, 2)
	if got, err := s.RaisePeak(t.Context(), 1); err != nil || got != 2 {
		t.Errorf("RaisePeak(1) after ResetPeak(2) = %d, %v; want 2, nil", got, err)
	}
	if err := s.ResetPeak(t.Context(), 0); err != nil {
		t.Fatalf("ResetPeak(0): %v", err)
	}
	wantPeak(t, s, 0)
}

func testRaisePeakConcurrent(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	// Several rounds per goroutine, rising, so that a lost update (a lower
	// value written over a higher one) has many chances to show.
	const rounds = 4
	for i := 1; i <= goroutines; i++ {
		wg.Go(func() {
			<-start
			for r := range rounds {
				n := r*goroutines + i
				got, err := s.RaisePeak(t.Context(), n)
				if err != nil {
					t.Errorf("RaisePeak(%d): %v", n, err)
					return
				}
				// The peak after the call is at least what this call recorded.
				if got < n {
					t.Errorf("RaisePeak(%d) = %d, want at least %d", n, got, n)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	wantPeak(t, s, rounds*goroutines)
}

func testSettings(t *testing.T, s store.Store) {
	got, err := s.Settings(t.Context())
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	if got != (store.Settings{}) {
		t.Errorf("Settings on an empty store = %+v, want the zero value", got)
	}
	for _, want := range []store.Settings{
		{IdleLimit: 10*time.Minute + 3*time.Millisecond + 1},
		{},
	} {
		if err := s.PutSettings(t.Context(), want); err != nil {
			t.Fatalf("PutSettings(%+v): %v", want, err)
		}
		got, err := s.Settings(t.Context())
		if err != nil {
			t.Fatalf("Settings: %v", err)
		}
		if got != want {
			t.Errorf("Settings = %+v, want %+v", got, want)
		}
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// calls runs every method of s once with ctx and returns each one's error by
// name, for the subtests where every call must fail.
func calls(ctx context.Context, s store.Store) map[string]error {
	errs := make(map[string]error)
	_, errs["CustomStatuses"] = s.CustomStatuses(ctx)
	errs["CreateCustomStatus"] = s.CreateCustomStatus(ctx, custom("id-c", "Closed", presence.Busy))
	errs["UpdateCustomStatus"] = s.UpdateCustomStatus(ctx, custom("id-a", "Renamed", presence.Busy))
	errs["DeleteCustomStatus"] = s.DeleteCustomStatus(ctx, "id-a")
	_, errs["Users"] = s.Users(ctx)
	_, errs["User"] = s.User(ctx, "u-a")
	errs["PutUser"] = s.PutUser(ctx, store.NewUser("u-b"))
	errs["PutUsers"] = s.PutUsers(ctx, []store.User{store.NewUser("u-b"), store.NewUser("u-c")})
	_, errs["Service"] = s.Service(ctx)
	errs["PutService"] = s.PutService(ctx, store.Service{Enabled: true})
	_, errs["Peak"] = s.Peak(ctx)
	_, errs["RaisePeak"] = s.RaisePeak(ctx, 9)
	errs["ResetPeak"] = s.ResetPeak(ctx, 0)
	_, errs["Settings"] = s.Settings(ctx)
	errs["PutSettings"] = s.PutSettings(ctx, store.Settings{})
	errs["Ping"] = s.Ping(ctx)
	return errs
}

// seed gives the failure subtests records to fail on, so that "not found"
// cannot pass for "failed".
func seed(t *testing.T, s store.Store) {
	t.Helper()
	mustCreate(t, s, custom("id-a", "Alpha", presence.Away))
	mustPutUser(t, s, store.NewUser("u-a"))
}

func testCanceledContext(t *testing.T, s store.Store) {
	seed(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range calls(ctx, s) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want an error wrapping context.Canceled", name, err)
		}
	}
	// Nothing above may have happened.
	wantStatuses(t, s, custom("id-a", "Alpha", presence.Away))
}

func testClosed(t *testing.T, s store.Store) {
	seed(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, err := range calls(t.Context(), s) {
		switch {
		case err == nil:
			t.Errorf("%s after Close succeeded, want an error", name)
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
			t.Errorf("%s after Close = %v, want a backend error, not a record error", name, err)
		}
	}
	// A second Close must not panic; whether it reports an error is the
	// backend's choice.
	_ = s.Close()
}

// Reopen checks that what a store holds survives closing it: open must
// return a store on the same data each time it is called.
func Reopen(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := open(t)
	lunch := status.Custom{ID: "id-lunch", Name: "Lunch", Presence: presence.Away, Duration: time.Hour}
	user := store.User{
		ID: "u-1", Manual: presence.Busy, Text: "heads down", Custom: lunch.ID,
		IdleLimit: 2 * time.Minute, AutoAway: false, LastSeen: time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC),
		Until: time.Date(2026, 5, 6, 8, 0, 0, 0, time.UTC),
	}
	svc := store.Service{Enabled: false, Reason: "admin", Since: time.Date(2026, 5, 6, 7, 0, 0, 0, time.UTC)}
	set := store.Settings{IdleLimit: 15 * time.Minute}
	for _, err := range []error{
		s.CreateCustomStatus(ctx, lunch),
		s.PutUser(ctx, user),
		s.PutService(ctx, svc),
		s.PutSettings(ctx, set),
		s.ResetPeak(ctx, 17),
	} {
		if err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t)
	defer s.Close()
	statuses, err := s.CustomStatuses(ctx)
	if err != nil || len(statuses) != 1 || statuses[0] != lunch {
		t.Errorf("CustomStatuses after reopen = %+v, %v; want [%+v]", statuses, err, lunch)
	}
	// The name index survived too, not only the record.
	if err := s.CreateCustomStatus(ctx, status.Custom{ID: "id-2", Name: "LUNCH"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateCustomStatus of a taken name after reopen = %v, want ErrConflict", err)
	}
	if got, err := s.User(ctx, user.ID); err != nil || got.Text != user.Text || got.Manual != user.Manual ||
		got.IdleLimit != user.IdleLimit || got.AutoAway || !got.LastSeen.Equal(user.LastSeen) || !got.Until.Equal(user.Until) {
		t.Errorf("User after reopen = %+v, %v; want %+v", got, err, user)
	}
	if got, err := s.Service(ctx); err != nil || got.Enabled || got.Reason != svc.Reason || !got.Since.Equal(svc.Since) {
		t.Errorf("Service after reopen = %+v, %v; want %+v", got, err, svc)
	}
	if got, err := s.Settings(ctx); err != nil || got != set {
		t.Errorf("Settings after reopen = %+v, %v; want %+v", got, err, set)
	}
	if got, err := s.Peak(ctx); err != nil || got != 17 {
		t.Errorf("Peak after reopen = %d, %v; want 17", got, err)
	}
}
