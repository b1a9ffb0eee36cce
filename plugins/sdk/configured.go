package sdk

import "sync"

// Configured holds what a provider builds from its ConfigureRequest (an
// upstream client, parsed settings) for its other calls to read. The host
// may call Configure again at any time, concurrently with other calls, so
// a provider keeps that state in one value, replaced whole by Set:
//
//	type config struct {
//		client *upstream.Client
//		region string
//	}
//
//	type provider struct{ conf sdk.Configured[config] }
//
//	func (p *provider) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
//		c, err := upstream.New(req.Settings["url"], req.Secrets["token"])
//		if err != nil {
//			return sdk.Errorf(sdk.CodeInvalid, "configure: %w", err)
//		}
//		p.conf.Set(config{client: c, region: req.Settings["region"]})
//		return nil
//	}
//
//	func (p *provider) DeleteUser(ctx context.Context, id string) error {
//		c, err := p.conf.Get()
//		if err != nil {
//			return err
//		}
//		return c.client.DeleteUser(ctx, id)
//	}
//
// The zero value holds nothing; it is safe for concurrent use.
type Configured[T any] struct {
	mu  sync.RWMutex
	v   T
	set bool
}

// Set stores v for the calls that follow.
func (c *Configured[T]) Set(v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.v, c.set = v, true
}

// Get returns the stored value, or an UNAVAILABLE error when Set was never
// called (the provider has not been configured successfully yet).
func (c *Configured[T]) Get() (T, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.set {
		var zero T
		return zero, Unavailable("provider not configured")
	}
	return c.v, nil
}
