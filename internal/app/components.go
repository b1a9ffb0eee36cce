package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// A server is composed of components (the database, the plugins, the
// background workers, the HTTP listener...), each started by one step of
// Start and each knowing only how to stop itself. components stops them in
// the reverse order of their start, so the one shutdown order is the start
// order backwards: drain HTTP requests, stop the background work (the
// live audit feed, the audit chainer and checkpointer, ingest, the archiver,
// the health probes; a provisioning job in flight finishes its step or its
// lease lapses for another replica), stop the plugins and the demo
// upstreams, close the database.
type components struct {
	log   *slog.Logger
	parts []component
}

// component is one started part of the server.
type component struct {
	name string
	stop func(context.Context) error
}

// add registers a started component and how to stop it.
func (c *components) add(name string, stop func(context.Context) error) {
	c.parts = append(c.parts, component{name: name, stop: stop})
}

// addCloser registers a started component stopped by a call that cannot
// fail.
func (c *components) addCloser(name string, stop func()) {
	c.add(name, func(context.Context) error { stop(); return nil })
}

// stop stops every component, last started first, and returns their errors
// joined. Each component is stopped once; later calls do nothing.
func (c *components) stop(ctx context.Context) error {
	var errs []error
	for i := len(c.parts) - 1; i >= 0; i-- {
		p := c.parts[i]
		if err := p.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", p.name, err))
		}
	}
	c.parts = nil
	return errors.Join(errs...)
}

// loops runs background loops until stopped; it is one component.
type loops struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newLoops returns a loop group whose loops run on a context detached
// from ctx's cancellation (they stop only through stop).
func newLoops(ctx context.Context) *loops {
	l := &loops{}
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return l
}

// start runs fn in the background until the group stops.
func (l *loops) start(fn func(context.Context)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		fn(l.ctx)
	}()
}

// stop cancels every loop and waits for them to return.
func (l *loops) stop() {
	l.cancel()
	l.wg.Wait()
}

// every runs fn at once and then every period until ctx ends.
func every(ctx context.Context, period time.Duration, fn func(context.Context)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// httpServer serves a listener until stopped.
type httpServer struct {
	srv  *http.Server
	done chan struct{}
	err  error // the serve error, set before done closes
}

// serveHTTP starts serving h on ln.
func serveHTTP(ln net.Listener, h http.Handler) *httpServer {
	s := &httpServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s
}

// stop stops accepting, lets in-flight requests finish until ctx ends,
// and returns the serve error, if serving had failed.
func (s *httpServer) stop(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return errors.Join(s.err, err)
}
