package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/store/storetest"
)

type writeLog struct {
	mu   sync.Mutex
	ops  []string
	errs []error
}

func (l *writeLog) ObserveWrite(op string, took time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, op)
	l.errs = append(l.errs, err)
}

func openObserved(t *testing.T, l *writeLog) store.Store {
	t.Helper()
	st, err := boltstore.Open(t.TempDir(), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return store.Observe(st, l)
}

// An observed store is still a store: the contract suite passes through it.
func TestObservedStoreKeepsTheContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openObserved(t, &writeLog{}) })
}

func TestObserveReportsWritesAndFailures(t *testing.T) {
	l := &writeLog{}
	st := openObserved(t, l)
	ctx := context.Background()
	cs := status.Custom{ID: "c1", Name: "In a meeting", Presence: presence.Busy}
	if err := st.CreateCustomStatus(ctx, cs); err != nil {
		t.Fatal(err)
	}
	cs.ID = "c2"
	if err := st.CreateCustomStatus(ctx, cs); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want a conflict", err)
	}
	if err := st.PutSettings(ctx, store.Settings{IdleLimit: time.Minute}); err != nil {
		t.Fatal(err)
	}
	st.Users(ctx) // a read: not reported
	st.Close()
	if err := st.PutUser(ctx, store.User{ID: "alice"}); err == nil {
		t.Fatal("a write after Close succeeded")
	}
	want := []string{"create_custom_status", "create_custom_status", "put_settings", "put_user"}
	if len(l.ops) != len(want) {
		t.Fatalf("reported %v, want %v", l.ops, want)
	}
	for i, op := range want {
		if l.ops[i] != op || (l.errs[i] != nil) != (i == 3) {
			t.Errorf("write %d: %s, error %v; want %s with an error only for the write after Close", i, l.ops[i], l.errs[i], op)
		}
	}
}
