package daemon

import (
	"context"
	"sync"
)

// Component is one part of the daemon with a life of its own.
type Component interface {
	// Name names it in logs.
	Name() string
	// Start begins its work; it returns once it is serving (or failed to).
	Start(ctx context.Context) error
	// Shutdown stops it, finishing work in flight until ctx ends.
	Shutdown(ctx context.Context) error
}

// background is a job that runs until shutdown: the file watcher, the list updater.
type background struct {
	name   string
	finish bool // Shutdown waits for run to return whatever ctx says
	run    func(ctx context.Context)
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// Background makes a Component of a function that runs until its context ends.
func Background(name string, run func(ctx context.Context)) Component {
	return &background{name: name, run: run}
}

// Finishing is Background for a job that must end its work before the
// process exits (the query log's last records): Shutdown waits for it
// even past its context.
func Finishing(name string, run func(ctx context.Context)) Component {
	return &background{name: name, run: run, finish: true}
}

func (b *background) Name() string { return b.name }

func (b *background) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.done.Add(1)
	go func() {
		defer b.done.Done()
		b.run(ctx)
	}()
	return nil
}

func (b *background) Shutdown(ctx context.Context) error {
	b.cancel()
	if b.finish {
		b.done.Wait()
		return nil
	}
	done := make(chan struct{})
	go func() { b.done.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
