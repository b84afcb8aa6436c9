package boltstore

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

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
	storetest.Reopen(t, func(t *testing.T) store.Store {
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
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
