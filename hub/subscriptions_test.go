package hub

import (
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
