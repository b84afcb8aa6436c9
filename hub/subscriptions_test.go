package hub

import (
	"slices"
	"testing"
	"testing/synctest"

	"github.com/presenced/presenced/presence"
)

// TestSubscribeBeforeUserIsSeen: a subscription to an id the hub has never
// seen follows that user once they come, and an unsubscribe made after
// stops it.
func TestSubscribeBeforeUserIsSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore()})
		defer run(t, h)()
		watcher, other := &sink{}, &sink{}
		h.Connect(ConnInfo{ID: 1, User: "alice"}, watcher)
		h.Connect(ConnInfo{ID: 2, User: "carol"}, other)
		h.Do(1, "s", Subscribe{Users: []string{"bob"}})
		h.Do(2, "s", Subscribe{Users: []string{"bob"}})
		h.Do(2, "u", Unsubscribe{Users: []string{"bob"}}) // before bob exists
		h.Connect(ConnInfo{ID: 3, User: "bob"}, &sink{})
		synctest.Wait()
		if e, ok := watcher.last("bob"); !ok || e.Status != presence.Online {
			t.Fatalf("alice's last entry of bob = %+v, %v; want online", e, ok)
		}
		if e, ok := other.last("bob"); ok && e.Status != presence.Offline {
			t.Errorf("carol unsubscribed, yet got bob %+v", e)
		}
		h.Do(1, "u", Unsubscribe{Users: []string{"bob"}}) // now bob exists
		h.Do(3, "b", SetStatus{Manual: presence.Busy})
		synctest.Wait()
		if e, _ := watcher.last("bob"); e.Status != presence.Online {
			t.Errorf("alice unsubscribed, yet got bob %+v", e)
		}
	})
}

// TestSubscribeCountsEachUserOnce: ids repeated in one subscribe, or
// already followed, make one subscription each: they count once against
// the cap, and a change reaches the watcher once.
func TestSubscribeCountsEachUserOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Store: newMemStore(), MaxSubscriptions: 3})
		defer run(t, h)()
		watcher := &sink{}
		h.Connect(ConnInfo{ID: 1, User: "alice"}, watcher)
		h.Do(1, "s1", Subscribe{Users: []string{"dave", "bob", "dave", "bob"}})
		h.Do(1, "s2", Subscribe{Users: []string{"carol", "bob", "carol"}})
		h.Do(1, "s3", Subscribe{Users: []string{"erin"}})
		synctest.Wait()
		for _, id := range []string{"s1", "s2"} {
			if r, ok := watcher.reply(id); !ok || r.Err != nil {
				t.Fatalf("reply to %s = %+v, %v; want ok (3 users of 3 allowed)", id, r, ok)
			}
		}
		if r, ok := watcher.reply("s3"); !ok || r.Err == nil || r.Err.Code != CodeOverLimit {
			t.Fatalf("reply to s3 = %+v, %v; want over_limit: a 4th user", r, ok)
		}

		h.Connect(ConnInfo{ID: 2, User: "bob"}, &sink{})
		h.Connect(ConnInfo{ID: 3, User: "carol"}, &sink{})
		h.Do(2, "b", SetStatus{Manual: presence.Busy})
		h.Do(1, "u", Unsubscribe{Users: []string{"carol"}})
		h.Do(3, "c", SetStatus{Manual: presence.Busy})
		synctest.Wait()
		got := map[string][]presence.Status{}
		watcher.mu.Lock()
		for _, e := range watcher.presence {
			got[e.User] = append(got[e.User], e.Status)
		}
		watcher.mu.Unlock()
		if want := []presence.Status{presence.Online, presence.Busy}; !slices.Equal(got["bob"], want) {
			t.Errorf("alice got bob %v, want %v: once per change", got["bob"], want)
		}
		if want := []presence.Status{presence.Online}; !slices.Equal(got["carol"], want) {
			t.Errorf("alice got carol %v, want %v: nothing after the unsubscribe", got["carol"], want)
		}
	})
}
