package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// FileName is the name of the database file inside the data folder.
const FileName = "presenced.db"

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is zero.
const DefaultTimeout = time.Second

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for another process to release the
	// file lock before it gives up. Zero: DefaultTimeout (1 s). Short on
	// purpose: a lock held that long belongs to a running presenced, and the
	// operator is better told so than kept waiting.
	Timeout time.Duration
}

// Bucket and key names; see doc.go for what each holds.
var (
	bucketStatuses    = []byte("statuses")
	bucketStatusNames = []byte("status_names")
	bucketUsers       = []byte("users")
	bucketWorkspace   = []byte("workspace")

	keyService  = []byte("service")
	keySettings = []byte("settings")
	keyPeak     = []byte("peak")
)

// Store is a store.Store kept in one bbolt file.
type Store struct {
	db *bolt.DB
}

var _ store.Store = (*Store)(nil)

// Open opens the store in the folder dir, creating the folder and the file
// presenced.db in it if needed. It fails after opts.Timeout if another
// process holds the file.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("boltstore: open store: create data folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("boltstore: open store: data folder %q is in use by another presenced process (lock on %s)", dir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open store: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketStatuses, bucketStatusNames, bucketUsers, bucketWorkspace} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		// The file is unusable; release the lock so that the error, not a
		// stale lock, is what the operator sees next time.
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open store: %w", err)
	}
	return &Store{db: db}, nil
}

// Path returns the path of the database file.
func (s *Store) Path() string { return s.db.Path() }

// view runs fn in a read transaction, naming op in any error.
func (s *Store) view(ctx context.Context, op string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: %s: %w", op, err)
	}
	if err := s.db.View(fn); err != nil {
		return fmt.Errorf("boltstore: %s: %w", op, err)
	}
	return nil
}

// update runs fn in a write transaction, naming op in any error. An error from
// fn rolls the whole transaction back.
func (s *Store) update(ctx context.Context, op string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: %s: %w", op, err)
	}
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("boltstore: %s: %w", op, err)
	}
	return nil
}

// CustomStatuses returns every custom status, in id order.
func (s *Store) CustomStatuses(ctx context.Context) ([]status.Custom, error) {
	var all []status.Custom
	err := s.view(ctx, "list statuses", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStatuses).ForEach(func(k, v []byte) error {
			cs, err := decodeStatus(v)
			if err != nil {
				return fmt.Errorf("status %q: %w", k, err)
			}
			all = append(all, cs)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// CreateCustomStatus adds cs, or returns store.ErrConflict if its name is
// taken in any letter case. It fails without change if cs.ID is taken.
func (s *Store) CreateCustomStatus(ctx context.Context, cs status.Custom) error {
	return s.update(ctx, "create status", func(tx *bolt.Tx) error {
		statuses, names := tx.Bucket(bucketStatuses), tx.Bucket(bucketStatusNames)
		id, key := []byte(cs.ID), []byte(status.Key(cs.Name))
		if names.Get(key) != nil {
			return store.ErrConflict
		}
		if statuses.Get(id) != nil {
			return fmt.Errorf("id %q already exists", cs.ID)
		}
		if err := names.Put(key, id); err != nil {
			return err
		}
		return putJSON(statuses, id, encodeStatus(cs))
	})
}

// UpdateCustomStatus replaces the status with cs.ID, moving its name in the
// index when the name changes.
func (s *Store) UpdateCustomStatus(ctx context.Context, cs status.Custom) error {
	return s.update(ctx, "update status", func(tx *bolt.Tx) error {
		statuses, names := tx.Bucket(bucketStatuses), tx.Bucket(bucketStatusNames)
		id, key := []byte(cs.ID), []byte(status.Key(cs.Name))
		v := statuses.Get(id)
		if v == nil {
			return store.ErrNotFound
		}
		old, err := decodeStatus(v)
		if err != nil {
			return fmt.Errorf("status %q: %w", cs.ID, err)
		}
		if owner := names.Get(key); owner != nil && string(owner) != cs.ID {
			return store.ErrConflict
		}
		if oldKey := []byte(status.Key(old.Name)); string(oldKey) != string(key) {
			if err := names.Delete(oldKey); err != nil {
				return err
			}
			if err := names.Put(key, id); err != nil {
				return err
			}
		}
		return putJSON(statuses, id, encodeStatus(cs))
	})
}

// DeleteCustomStatus removes the status with this id and frees its name.
func (s *Store) DeleteCustomStatus(ctx context.Context, id string) error {
	return s.update(ctx, "delete status", func(tx *bolt.Tx) error {
		statuses, names := tx.Bucket(bucketStatuses), tx.Bucket(bucketStatusNames)
		v := statuses.Get([]byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		cs, err := decodeStatus(v)
		if err != nil {
			return fmt.Errorf("status %q: %w", id, err)
		}
		key := []byte(status.Key(cs.Name))
		// Only drop the index entry if it is ours: a damaged index must not
		// cost another status its name.
		if string(names.Get(key)) == id {
			if err := names.Delete(key); err != nil {
				return err
			}
		}
		return statuses.Delete([]byte(id))
	})
}

// Users returns every stored user, in id order.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	var all []store.User
	err := s.view(ctx, "list users", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			u, err := decodeUser(v)
			if err != nil {
				return fmt.Errorf("user %q: %w", k, err)
			}
			all = append(all, u)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// User returns the stored user with this id, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (store.User, error) {
	var u store.User
	err := s.view(ctx, "get user", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketUsers).Get([]byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		u, err = decodeUser(v)
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// PutUser stores u, replacing any earlier state of u.ID.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	return s.update(ctx, "put user", func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketUsers), []byte(u.ID), encodeUser(u))
	})
}

// PutUsers stores every user of us in one transaction: one commit, one
// fsync for them all.
func (s *Store) PutUsers(ctx context.Context, us []store.User) error {
	return s.update(ctx, "put users", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		for _, u := range us {
			if err := putJSON(b, []byte(u.ID), encodeUser(u)); err != nil {
				return fmt.Errorf("user %q: %w", u.ID, err)
			}
		}
		return nil
	})
}

// Service returns the service state, Service{Enabled: true} if never written.
func (s *Store) Service(ctx context.Context) (store.Service, error) {
	svc := store.Service{Enabled: true}
	err := s.view(ctx, "get service", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketWorkspace).Get(keyService)
		if v == nil {
			return nil
		}
		var err error
		svc, err = decodeService(v)
		return err
	})
	if err != nil {
		return store.Service{}, err
	}
	return svc, nil
}

// PutService stores the service state.
func (s *Store) PutService(ctx context.Context, svc store.Service) error {
	return s.update(ctx, "put service", func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketWorkspace), keyService, encodeService(svc))
	})
}

// Peak returns the highest connection count recorded, 0 if none.
func (s *Store) Peak(ctx context.Context) (int, error) {
	var peak int
	err := s.view(ctx, "get peak", func(tx *bolt.Tx) error {
		var err error
		peak, err = getPeak(tx)
		return err
	})
	if err != nil {
		return 0, err
	}
	return peak, nil
}

// RaisePeak records n if it is higher than the recorded peak and returns the
// peak after the call. The write transaction makes it atomic.
func (s *Store) RaisePeak(ctx context.Context, n int) (int, error) {
	var peak int
	err := s.update(ctx, "raise peak", func(tx *bolt.Tx) error {
		var err error
		if peak, err = getPeak(tx); err != nil || n <= peak {
			return err
		}
		peak = n
		return putPeak(tx, n)
	})
	if err != nil {
		return 0, err
	}
	return peak, nil
}

// ResetPeak sets the peak to n whatever it was.
func (s *Store) ResetPeak(ctx context.Context, n int) error {
	return s.update(ctx, "reset peak", func(tx *bolt.Tx) error {
		return putPeak(tx, n)
	})
}

// Settings returns the workspace settings; zero values when never written.
func (s *Store) Settings(ctx context.Context) (store.Settings, error) {
	var set store.Settings
	err := s.view(ctx, "get settings", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketWorkspace).Get(keySettings)
		if v == nil {
			return nil
		}
		var err error
		set, err = decodeSettings(v)
		return err
	})
	if err != nil {
		return store.Settings{}, err
	}
	return set, nil
}

// PutSettings stores the workspace settings.
func (s *Store) PutSettings(ctx context.Context, set store.Settings) error {
	return s.update(ctx, "put settings", func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketWorkspace), keySettings, encodeSettings(set))
	})
}

// Ping reports whether the file is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(*bolt.Tx) error { return nil })
}

// Close closes the file and releases its lock. Later calls fail; a second
// Close returns nil.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}

func getPeak(tx *bolt.Tx) (int, error) {
	v := tx.Bucket(bucketWorkspace).Get(keyPeak)
	if v == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return 0, fmt.Errorf("peak %q: %w", v, err)
	}
	return n, nil
}

func putPeak(tx *bolt.Tx, n int) error {
	return tx.Bucket(bucketWorkspace).Put(keyPeak, []byte(strconv.Itoa(n)))
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, data)
}

// The JSON records. They are separate from the store types so that the file
// format is spelled out here and does not change when a Go field is renamed.

type statusRecord struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Presence string `json:"presence"`
	Duration string `json:"duration"` // Go duration; "" in files written before it
}

type userRecord struct {
	ID        string `json:"id"`
	Manual    string `json:"manual"`
	Text      string `json:"text"`
	Custom    string `json:"custom"`
	IdleLimit string `json:"idle_limit"`
	AutoAway  bool   `json:"auto_away"`
	LastSeen  string `json:"last_seen"`
	Until     string `json:"until"`
}

type serviceRecord struct {
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason"`
	Since   string `json:"since"`
}

type settingsRecord struct {
	IdleLimit string `json:"idle_limit"`
}

func encodeStatus(cs status.Custom) statusRecord {
	return statusRecord{ID: cs.ID, Name: cs.Name, Presence: cs.Presence.String(), Duration: cs.Duration.String()}
}

func decodeStatus(data []byte) (status.Custom, error) {
	var r statusRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return status.Custom{}, err
	}
	p, err := store.ParsePresence(r.Presence)
	if err != nil {
		return status.Custom{}, err
	}
	d, err := store.ParseDuration(r.Duration)
	if err != nil {
		return status.Custom{}, err
	}
	return status.Custom{ID: r.ID, Name: r.Name, Presence: p, Duration: d}, nil
}

func encodeUser(u store.User) userRecord {
	return userRecord{
		ID:        u.ID,
		Manual:    u.Manual.String(),
		Text:      u.Text,
		Custom:    u.Custom,
		IdleLimit: u.IdleLimit.String(),
		AutoAway:  u.AutoAway,
		LastSeen:  store.FormatTime(u.LastSeen),
		Until:     store.FormatTime(u.Until),
	}
}

func decodeUser(data []byte) (store.User, error) {
	var r userRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return store.User{}, err
	}
	manual, err := store.ParsePresence(r.Manual)
	if err != nil {
		return store.User{}, err
	}
	idle, err := store.ParseDuration(r.IdleLimit)
	if err != nil {
		return store.User{}, err
	}
	seen, err := store.ParseTime(r.LastSeen)
	if err != nil {
		return store.User{}, err
	}
	until, err := store.ParseTime(r.Until)
	if err != nil {
		return store.User{}, err
	}
	return store.User{
		ID: r.ID, Manual: manual, Text: r.Text, Custom: r.Custom,
		IdleLimit: idle, AutoAway: r.AutoAway, LastSeen: seen, Until: until,
	}, nil
}

func encodeService(s store.Service) serviceRecord {
	return serviceRecord{Enabled: s.Enabled, Reason: s.Reason, Since: store.FormatTime(s.Since)}
}

func decodeService(data []byte) (store.Service, error) {
	var r serviceRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return store.Service{}, err
	}
	since, err := store.ParseTime(r.Since)
	if err != nil {
		return store.Service{}, err
	}
	return store.Service{Enabled: r.Enabled, Reason: r.Reason, Since: since}, nil
}

func encodeSettings(s store.Settings) settingsRecord {
	return settingsRecord{IdleLimit: s.IdleLimit.String()}
}

func decodeSettings(data []byte) (store.Settings, error) {
	var r settingsRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return store.Settings{}, err
	}
	idle, err := store.ParseDuration(r.IdleLimit)
	if err != nil {
		return store.Settings{}, err
	}
	return store.Settings{IdleLimit: idle}, nil
}
