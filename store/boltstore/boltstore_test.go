package boltstore

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/storetest"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, t.TempDir())
	})
}

func TestOpenCreatesFolderAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s := open(t, dir)
	if want := filepath.Join(dir, FileName); s.Path() != want {
		t.Errorf("Path() = %q, want %q", s.Path(), want)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	lunch := status.Custom{ID: "id-lunch", Name: "Lunch", Presence: presence.Away}
	user := store.User{
		ID: "u-1", Manual: presence.Busy, Text: "heads down", Custom: lunch.ID,
		IdleLimit: 2 * time.Minute, AutoAway: false, LastSeen: time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC),
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

	s = open(t, dir)
	statuses, err := s.CustomStatuses(ctx)
	if err != nil || len(statuses) != 1 || statuses[0] != lunch {
		t.Errorf("CustomStatuses after reopen = %+v, %v; want [%+v]", statuses, err, lunch)
	}
	// The name index survived too, not only the record.
	if err := s.CreateCustomStatus(ctx, status.Custom{ID: "id-2", Name: "LUNCH"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateCustomStatus of a taken name after reopen = %v, want ErrConflict", err)
	}
	if got, err := s.User(ctx, user.ID); err != nil || got.Text != user.Text || got.Manual != user.Manual ||
		got.IdleLimit != user.IdleLimit || got.AutoAway || !got.LastSeen.Equal(user.LastSeen) {
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

// TestSecondOpenFailsFast: bbolt's flock is per open file, so a second Open
// in this process stands in for a second presenced process.
func TestSecondOpenFailsFast(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := open(t, dir)

	start := time.Now()
	second, err := Open(dir, Options{})
	elapsed := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("second Open of a folder in use succeeded")
	}
	for _, want := range []string{
		"in use by another presenced process",
		`"` + dir + `"`,
		filepath.Join(dir, FileName),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second Open error %q does not contain %q", err, want)
		}
	}
	// It waited about DefaultTimeout for the lock, not forever.
	if elapsed > DefaultTimeout+5*time.Second {
		t.Errorf("second Open took %v, want about %v", elapsed, DefaultTimeout)
	}

	// The first store is untouched, and once it closes the folder is free.
	if err := first.Ping(t.Context()); err != nil {
		t.Errorf("Ping on the first store: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	open(t, dir)
}

func TestCorruptRecordFails(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := t.Context()
	if err := s.PutUser(ctx, store.NewUser("u-1")); err != nil {
		t.Fatal(err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).Put([]byte("u-1"), []byte(`{"manual":"sleepy"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, "u-1"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("User of a corrupt record = %v, want a decode error", err)
	}
	if _, err := s.Users(ctx); err == nil {
		t.Error("Users with a corrupt record succeeded")
	}
}
