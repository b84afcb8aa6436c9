package store

import (
	"context"
	"errors"
	"time"

	"github.com/presenced/presenced/status"
)

// WriteObserver is told of every write to a store: which one, how long it
// took and how it ended. It is called on the writing goroutine, so it must
// be quick and safe for concurrent use.
type WriteObserver interface {
	ObserveWrite(op string, took time.Duration, err error)
}

// Observe returns st with every write reported to o; reads pass through.
// ErrNotFound and ErrConflict are answers, not failures: o sees them as
// nil, so that an error count means the backend failed.
func Observe(st Store, o WriteObserver) Store {
	return &observed{Store: st, o: o}
}

type observed struct {
	Store // reads, Ping and Close go straight through
	o     WriteObserver
}

var _ Store = (*observed)(nil)

func (s *observed) observe(op string, began time.Time, err error) error {
	failure := err
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		failure = nil
	}
	s.o.ObserveWrite(op, time.Since(began), failure)
	return err
}

func (s *observed) CreateCustomStatus(ctx context.Context, cs status.Custom) error {
	began := time.Now()
	return s.observe("create_custom_status", began, s.Store.CreateCustomStatus(ctx, cs))
}

func (s *observed) UpdateCustomStatus(ctx context.Context, cs status.Custom) error {
	began := time.Now()
	return s.observe("update_custom_status", began, s.Store.UpdateCustomStatus(ctx, cs))
}

func (s *observed) DeleteCustomStatus(ctx context.Context, id string) error {
	began := time.Now()
	return s.observe("delete_custom_status", began, s.Store.DeleteCustomStatus(ctx, id))
}

func (s *observed) PutUser(ctx context.Context, u User) error {
	began := time.Now()
	return s.observe("put_user", began, s.Store.PutUser(ctx, u))
}

func (s *observed) PutService(ctx context.Context, sv Service) error {
	began := time.Now()
	return s.observe("put_service", began, s.Store.PutService(ctx, sv))
}

func (s *observed) RaisePeak(ctx context.Context, n int) (int, error) {
	began := time.Now()
	peak, err := s.Store.RaisePeak(ctx, n)
	return peak, s.observe("raise_peak", began, err)
}

func (s *observed) ResetPeak(ctx context.Context, n int) error {
	began := time.Now()
	return s.observe("reset_peak", began, s.Store.ResetPeak(ctx, n))
}

func (s *observed) PutSettings(ctx context.Context, st Settings) error {
	began := time.Now()
	return s.observe("put_settings", began, s.Store.PutSettings(ctx, st))
}
