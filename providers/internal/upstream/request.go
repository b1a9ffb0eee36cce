package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// NewJSONRequest builds a request to rawURL carrying in JSON-encoded (no body
// when in is nil). It sets Accept, and Content-Type when there is a body, to
// application/json. An encoding failure is reported as "encode request: …".
func NewJSONRequest(ctx context.Context, method, rawURL string, in any) (*http.Request, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// TransportError returns the cause of a failed http.Client.Do without its
// *url.Error wrapper, whose message repeats the URL (and any query in it).
func TransportError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
