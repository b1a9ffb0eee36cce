package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// S3Config configures an S3-compatible Store. Requests use path-style
// addressing (https://endpoint/bucket/key), which MinIO and Hetzner Object
// Storage both serve.
type S3Config struct {
	// Endpoint is host[:port], or a URL http://host[:port] or
	// https://host[:port]; without a scheme HTTPS is used.
	Endpoint string
	Region   string
	Bucket   string
	// AccessKey and SecretKey are the static credentials. They are never
	// logged: LogValue and String leave them out.
	AccessKey string
	SecretKey string
	// SSE requests server-side encryption with store-managed keys (SSE-S3)
	// on every Put. MinIO without a KMS rejects it.
	SSE bool
	// Transport overrides the HTTP transport (nil: the default).
	Transport http.RoundTripper
}

// LogValue describes c without its credentials.
func (c S3Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint), slog.String("region", c.Region),
		slog.String("bucket", c.Bucket), slog.Bool("sse", c.SSE),
		slog.Bool("credentials", c.AccessKey != "" || c.SecretKey != ""))
}

// String describes c without its credentials.
func (c S3Config) String() string {
	return fmt.Sprintf("s3 endpoint=%s region=%s bucket=%s sse=%t", c.Endpoint, c.Region, c.Bucket, c.SSE)
}

// S3Store is a Store on an S3-compatible bucket.
type S3Store struct {
	client *minio.Client
	bucket string
	sse    bool
}

// NewS3Store returns a Store for the bucket of cfg. It does not contact the
// endpoint.
func NewS3Store(cfg S3Config) (*S3Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("archive: s3: endpoint and bucket are required")
	}
	host, secure := cfg.Endpoint, true
	if strings.Contains(cfg.Endpoint, "://") {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("archive: s3: endpoint: %w", err)
		}
		switch u.Scheme {
		case "http":
			secure = false
		case "https":
		default:
			return nil, fmt.Errorf("archive: s3: endpoint scheme %q is not http or https", u.Scheme)
		}
		if u.Path != "" && u.Path != "/" {
			return nil, errors.New("archive: s3: endpoint must not have a path")
		}
		host = u.Host
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("archive: s3 client for %s: %w", host, err)
	}
	return &S3Store{client: client, bucket: cfg.Bucket, sse: cfg.SSE}, nil
}

// Put implements Store with a single-part upload carrying Content-MD5.
func (s *S3Store) Put(ctx context.Context, key string, body []byte, contentType string) (ObjectInfo, error) {
	opts := minio.PutObjectOptions{ContentType: contentType, DisableMultipart: true, SendContentMd5: true}
	if s.sse {
		opts.ServerSideEncryption = encrypt.NewSSE()
	}
	info, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), opts)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("archive: s3 put %s: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: int64(len(body)), ETag: strings.Trim(info.ETag, `"`)}, nil
}

// Head implements Store.
func (s *S3Store) Head(ctx context.Context, key string) (ObjectInfo, error) {
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("archive: s3 head %s: %w", key, notFound(err))
	}
	return ObjectInfo{Key: key, Size: st.Size, ETag: strings.Trim(st.ETag, `"`)}, nil
}

// Get implements Store.
func (s *S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("archive: s3 get %s: %w", key, notFound(err))
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		return nil, fmt.Errorf("archive: s3 get %s: %w", key, notFound(err))
	}
	return b, nil
}

// List implements Store.
func (s *S3Store) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("archive: s3 list %s: %w", prefix, o.Err)
		}
		out = append(out, ObjectInfo{Key: o.Key, Size: o.Size, ETag: strings.Trim(o.ETag, `"`)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// notFound maps the store's "no such key" answer to ErrNotFound.
func notFound(err error) error {
	r := minio.ToErrorResponse(err)
	if r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
