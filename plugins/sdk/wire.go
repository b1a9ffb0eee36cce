package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/dezky/platform/plugins/proto/v2"
)

// grpcCodes maps each Code to the gRPC status code it travels as. The
// reverse direction is used for statuses without an ErrorInfo detail (for
// example from protocol 1 plugins).
var grpcCodes = map[Code]codes.Code{
	CodeNotFound:        codes.NotFound,
	CodeConflict:        codes.AlreadyExists,
	CodeInUse:           codes.FailedPrecondition,
	CodeUnavailable:     codes.Unavailable,
	CodeInvalid:         codes.InvalidArgument,
	CodeUnauthenticated: codes.Unauthenticated,
	CodeUnsupported:     codes.Unimplemented,
	CodeInternal:        codes.Internal,
}

// toStatus turns a provider error into a gRPC status error carrying the
// Code as errdetails.ErrorInfo.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e = &Error{Code: CodeUnavailable, Message: err.Error()}
	default:
		e = &Error{Code: CodeInternal, Message: err.Error()}
	}
	gc, ok := grpcCodes[e.Code]
	if !ok {
		gc = codes.Unknown
	}
	msg := e.Message
	if msg == "" {
		msg = e.Error()
	}
	st, derr := status.New(gc, msg).WithDetails(&errdetails.ErrorInfo{Reason: string(e.Code), Domain: ErrorDomain})
	if derr != nil {
		return status.Error(gc, msg)
	}
	return st.Err()
}

// FromRPCError rebuilds the typed *Error from an error returned by a gRPC
// call to a plugin. Statuses without an ErrorInfo detail come from the
// transport (or from older plugins) and are mapped by gRPC code; in
// particular a dead or unreachable plugin yields CodeUnavailable.
func FromRPCError(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return &Error{Code: CodeUnavailable, Message: err.Error(), Cause: err}
		}
		return &Error{Code: CodeInternal, Message: err.Error(), Cause: err}
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return &Error{Code: Code(info.GetReason()), Message: st.Message()}
		}
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		return &Error{Code: CodeUnavailable, Message: st.Message(), Cause: context.DeadlineExceeded}
	case codes.Canceled:
		return &Error{Code: CodeUnavailable, Message: st.Message(), Cause: context.Canceled}
	}
	for c, gc := range grpcCodes {
		if gc == st.Code() {
			return &Error{Code: c, Message: st.Message()}
		}
	}
	return &Error{Code: CodeInternal, Message: st.Message()}
}

// errorInterceptor converts every handler error into a typed status.
func errorInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	return resp, nil
}

// recoverInterceptor turns a panicking handler into an INTERNAL error so the
// plugin process survives.
func recoverInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			Logger().ErrorContext(ctx, "provider panicked", "method", info.FullMethod, "panic", fmt.Sprint(r))
			resp, err = nil, toStatus(&Error{Code: CodeInternal, Message: fmt.Sprintf("provider panicked in %s: %v", info.FullMethod, r)})
		}
	}()
	return handler(ctx, req)
}

// call invokes a unary RPC and converts its response and error.
func call[Req, Resp, Out any](ctx context.Context, fn func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req, conv func(Resp) Out) (Out, error) {
	resp, err := fn(ctx, req)
	if err != nil {
		var zero Out
		return zero, FromRPCError(err)
	}
	return conv(resp), nil
}

// call0 invokes a unary RPC whose response carries nothing.
func call0[Req, Resp any](ctx context.Context, fn func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) error {
	_, err := fn(ctx, req)
	return FromRPCError(err)
}

func tsTo(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsFrom(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func recordTo(r DNSRecord) *pb.DNSRecord {
	return &pb.DNSRecord{Name: r.Name, Type: r.Type, Value: r.Value, Ttl: r.TTL}
}

func recordFrom(r *pb.DNSRecord) DNSRecord {
	return DNSRecord{Name: r.GetName(), Type: r.GetType(), Value: r.GetValue(), TTL: r.GetTtl()}
}

func recordsTo(rs []DNSRecord) []*pb.DNSRecord {
	out := make([]*pb.DNSRecord, 0, len(rs))
	for _, r := range rs {
		out = append(out, recordTo(r))
	}
	return out
}

func recordsFrom(rs []*pb.DNSRecord) []DNSRecord {
	out := make([]DNSRecord, 0, len(rs))
	for _, r := range rs {
		out = append(out, recordFrom(r))
	}
	return out
}

func webhookTo(h Webhook) *pb.Webhook {
	hdr := make(map[string]*pb.HeaderValues, len(h.Header))
	for k, v := range h.Header {
		hdr[k] = &pb.HeaderValues{Values: v}
	}
	return &pb.Webhook{Header: hdr, Body: h.Body}
}

func webhookFrom(h *pb.Webhook) Webhook {
	hdr := make(http.Header, len(h.GetHeader()))
	for k, v := range h.GetHeader() {
		hdr[http.CanonicalHeaderKey(k)] = v.GetValues()
	}
	return Webhook{Header: hdr, Body: h.GetBody()}
}

var pbEmpty = &pb.Empty{}
