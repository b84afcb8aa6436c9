package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/storetest"
)

func TestMemStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newMemStore() })
}

// memStore is a store in memory whose calls can be made to fail, to test
// the hub's handling of an outage. It runs the contract suite the real
// stores run (TestMemStoreContract), so the hub is tested against a store
// that behaves as they do.
type memStore struct {
	mu       sync.Mutex
	down     bool
	closed   bool
	statuses map[string]status.Custom
	users    map[string]store.User
	service  store.Service
	peak     int
	settings store.Settings
}

var (
	errDown   = errors.New("connection refused")
	errClosed = errors.New("store closed")
)

func newMemStore() *memStore {
	return &memStore{statuses: map[string]status.Custom{}, users: map[string]store.User{}, service: store.Service{Enabled: true}}
}

func (m *memStore) setDown(down bool) { m.mu.Lock(); m.down = down; m.mu.Unlock() }

// lock takes the store's lock for one call, or returns why the call fails.
func (m *memStore) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return errClosed
	case m.down:
		m.mu.Unlock()
		return errDown
	}
	return nil
}

func (m *memStore) CustomStatuses(ctx context.Context) ([]status.Custom, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []status.Custom
	for _, c := range m.statuses {
		out = append(out, c)
	}
	return out, nil
}

func (m *memStore) CreateCustomStatus(ctx context.Context, cs status.Custom) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, used := m.statuses[cs.ID]; used {
		return store.ErrConflict
	}
	if m.nameTaken(cs) {
		return store.ErrConflict
	}
	m.statuses[cs.ID] = cs
	return nil
}

// nameTaken reports whether another status than cs has its name.
func (m *memStore) nameTaken(cs status.Custom) bool {
	for _, c := range m.statuses {
		if c.ID != cs.ID && status.Key(c.Name) == status.Key(cs.Name) {
			return true
		}
	}
	return false
}

func (m *memStore) UpdateCustomStatus(ctx context.Context, cs status.Custom) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.statuses[cs.ID]; !ok {
		return store.ErrNotFound
	}
	if m.nameTaken(cs) {
		return store.ErrConflict
	}
	m.statuses[cs.ID] = cs
	return nil
}

func (m *memStore) DeleteCustomStatus(ctx context.Context, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.statuses[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.statuses, id)
	return nil
}

func (m *memStore) Users(ctx context.Context) ([]store.User, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []store.User
	for _, u := range m.users {
		out = append(out, u)
	}
	return out, nil
}

func (m *memStore) User(ctx context.Context, id string) (store.User, error) {
	if err := m.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return u, store.ErrNotFound
	}
	return u, nil
}

func (m *memStore) PutUser(ctx context.Context, u store.User) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.users[u.ID] = u
	return nil
}

func (m *memStore) PutUsers(ctx context.Context, us []store.User) error {
	for _, u := range us {
		if err := m.PutUser(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) user(id string) (store.User, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	return u, ok
}

func (m *memStore) Service(ctx context.Context) (store.Service, error) {
	if err := m.lock(ctx); err != nil {
		return store.Service{}, err
	}
	defer m.mu.Unlock()
	return m.service, nil
}

func (m *memStore) PutService(ctx context.Context, s store.Service) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.service = s
	return nil
}

func (m *memStore) Peak(ctx context.Context) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	return m.peak, nil
}

func (m *memStore) RaisePeak(ctx context.Context, n int) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	m.peak = max(m.peak, n)
	return m.peak, nil
}

func (m *memStore) ResetPeak(ctx context.Context, n int) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.peak = n
	return nil
}

func (m *memStore) Settings(ctx context.Context) (store.Settings, error) {
	if err := m.lock(ctx); err != nil {
		return store.Settings{}, err
	}
	defer m.mu.Unlock()
	return m.settings, nil
}

func (m *memStore) PutSettings(ctx context.Context, s store.Settings) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.settings = s
	return nil
}

func (m *memStore) Ping(ctx context.Context) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	m.mu.Unlock()
	return nil
}

func (m *memStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

var _ store.Store = (*memStore)(nil)

// sink records what the hub sends one connection.
type sink struct {
	mu       sync.Mutex
	presence []Entry
	messages []Message
	closed   CloseReason
}

func (s *sink) Presence(e Entry) { s.mu.Lock(); s.presence = append(s.presence, e); s.mu.Unlock() }
func (s *sink) Send(m Message)   { s.mu.Lock(); s.messages = append(s.messages, m); s.mu.Unlock() }
func (s *sink) Close(r CloseReason) {
	s.mu.Lock()
	s.closed = r
	s.mu.Unlock()
}

// last returns the latest entry sent for user, and whether there is one.
func (s *sink) last(user string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.presence) - 1; i >= 0; i-- {
		if s.presence[i].User == user {
			return s.presence[i], true
		}
	}
	return Entry{}, false
}

// reply returns the reply to request id.
func (s *sink) reply(id string) (*Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if r, ok := m.(*Reply); ok && r.RequestID == id {
			return r, true
		}
	}
	return nil, false
}

// welcome returns the welcome the connection got, or nil.
func (s *sink) welcome() *Welcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if w, ok := m.(*Welcome); ok {
			return w
		}
	}
	return nil
}

// notices returns the codes of the notices the connection got, in order.
func (s *sink) notices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var codes []string
	for _, m := range s.messages {
		if n, ok := m.(*Notice); ok {
			codes = append(codes, n.Code)
		}
	}
	return codes
}

// service returns the last service event the connection got, if any.
func (s *sink) service() (Service, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.messages) - 1; i >= 0; i-- {
		if sc, ok := s.messages[i].(*ServiceChanged); ok {
			return sc.Service, true
		}
	}
	return Service{}, false
}
