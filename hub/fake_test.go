package hub

import (
	"context"
	"errors"
	"sync"

	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// memStore is a store in memory whose calls can be made to fail, to test
// the hub's handling of an outage. The contract it follows is checked for
// the real stores by store/storetest.
type memStore struct {
	mu       sync.Mutex
	down     bool
	statuses map[string]status.Custom
	users    map[string]store.User
	service  store.Service
	peak     int
	settings store.Settings
	puts     int // PutUser calls that succeeded
}

var errDown = errors.New("connection refused")

func newMemStore() *memStore {
	return &memStore{statuses: map[string]status.Custom{}, users: map[string]store.User{}, service: store.Service{Enabled: true}}
}

func (m *memStore) setDown(down bool) { m.mu.Lock(); m.down = down; m.mu.Unlock() }

func (m *memStore) lock() error {
	m.mu.Lock()
	if m.down {
		m.mu.Unlock()
		return errDown
	}
	return nil
}

func (m *memStore) CustomStatuses(context.Context) ([]status.Custom, error) {
	if err := m.lock(); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []status.Custom
	for _, c := range m.statuses {
		out = append(out, c)
	}
	return out, nil
}

func (m *memStore) CreateCustomStatus(_ context.Context, cs status.Custom) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for _, c := range m.statuses {
		if status.Key(c.Name) == status.Key(cs.Name) {
			return store.ErrConflict
		}
	}
	m.statuses[cs.ID] = cs
	return nil
}

func (m *memStore) UpdateCustomStatus(_ context.Context, cs status.Custom) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.statuses[cs.ID]; !ok {
		return store.ErrNotFound
	}
	m.statuses[cs.ID] = cs
	return nil
}

func (m *memStore) DeleteCustomStatus(_ context.Context, id string) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.statuses[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.statuses, id)
	return nil
}

func (m *memStore) Users(context.Context) ([]store.User, error) {
	if err := m.lock(); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []store.User
	for _, u := range m.users {
		out = append(out, u)
	}
	return out, nil
}

func (m *memStore) User(_ context.Context, id string) (store.User, error) {
	if err := m.lock(); err != nil {
		return store.User{}, err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return u, store.ErrNotFound
	}
	return u, nil
}

func (m *memStore) PutUser(_ context.Context, u store.User) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.users[u.ID] = u
	m.puts++
	return nil
}

func (m *memStore) user(id string) (store.User, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	return u, ok
}

func (m *memStore) Service(context.Context) (store.Service, error) {
	if err := m.lock(); err != nil {
		return store.Service{}, err
	}
	defer m.mu.Unlock()
	return m.service, nil
}

func (m *memStore) PutService(_ context.Context, s store.Service) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.service = s
	return nil
}

func (m *memStore) Peak(context.Context) (int, error) {
	if err := m.lock(); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	return m.peak, nil
}

func (m *memStore) RaisePeak(_ context.Context, n int) (int, error) {
	if err := m.lock(); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	m.peak = max(m.peak, n)
	return m.peak, nil
}

func (m *memStore) ResetPeak(_ context.Context, n int) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.peak = n
	return nil
}

func (m *memStore) Settings(context.Context) (store.Settings, error) {
	if err := m.lock(); err != nil {
		return store.Settings{}, err
	}
	defer m.mu.Unlock()
	return m.settings, nil
}

func (m *memStore) PutSettings(_ context.Context, s store.Settings) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.settings = s
	return nil
}

func (m *memStore) Ping(context.Context) error {
	if err := m.lock(); err != nil {
		return err
	}
	m.mu.Unlock()
	return nil
}

func (m *memStore) Close() error { return nil }

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
