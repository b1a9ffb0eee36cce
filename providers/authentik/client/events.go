package authentikapi

import (
	"context"
	"encoding/json"
	"net/url"
	"time"
)

// EventUser is the user block of an event.
type EventUser struct {
	PK       int    `json:"pk"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

// Event is one authentik event.
type Event struct {
	PK       string          `json:"pk"`
	User     EventUser       `json:"user"`
	Action   string          `json:"action"`
	App      string          `json:"app"`
	Context  json.RawMessage `json:"context"`
	ClientIP *string         `json:"client_ip"`
	Created  time.Time       `json:"created"`
}

// EventCursor marks the newest event already consumed.
type EventCursor struct {
	Created time.Time
	PK      string
}

// ListEventsPage returns one page of events, newest first (ordering=-created).
func (c *Client) ListEventsPage(ctx context.Context, page, pageSize int) (Page[Event], error) {
	if page < 1 {
		page = 1
	}
	if pageSize < 1 {
		pageSize = DefaultPageSize
	}
	return getPage[Event](ctx, c, "list events", "events/events/", url.Values{"ordering": {"-created"}}, page, pageSize)
}

// ListEventsSince returns the events newer than cur in chronological order (oldest
// first) together with the cursor to store for the next call. Authentik has no
// created__gt filter (it is silently ignored), so pages are read with
// ordering=-created until an event older than the cursor, or the cursor's own pk,
// appears. Events sharing the cursor's timestamp but with another pk are returned
// again; consumers dedupe on pk. When maxEvents > 0 only the oldest maxEvents new
// events are returned and the cursor advances just past them, so nothing is skipped.
func (c *Client) ListEventsSince(ctx context.Context, cur EventCursor, maxEvents int) ([]Event, EventCursor, error) {
	var newest []Event
	page := 1
scan:
	for i := 0; i < maxPages; i++ {
		p, err := c.ListEventsPage(ctx, page, DefaultPageSize)
		if err != nil {
			return nil, cur, err
		}
		for _, ev := range p.Results {
			if cur.PK != "" && ev.PK == cur.PK || !cur.Created.IsZero() && ev.Created.Before(cur.Created) {
				break scan
			}
			newest = append(newest, ev)
		}
		if p.Pagination.Next == 0 {
			break
		}
		page = p.Pagination.Next
	}
	out := make([]Event, len(newest))
	for i, ev := range newest {
		out[len(newest)-1-i] = ev
	}
	if maxEvents > 0 && len(out) > maxEvents {
		out = out[:maxEvents]
	}
	if len(out) == 0 {
		return nil, cur, nil
	}
	last := out[len(out)-1]
	return out, EventCursor{Created: last.Created, PK: last.PK}, nil
}
