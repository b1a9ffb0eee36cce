package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dezky/platform/plugins/sdk"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want sdk.Code
	}{
		{"Nil", nil, ""},
		{"Plain", errors.New("boom"), sdk.CodeInternal},
		{"Typed", sdk.NotFound("user %q", "x"), sdk.CodeNotFound},
		{"Wrapped", fmt.Errorf("ctx: %w", sdk.InUse("domain busy")), sdk.CodeInUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sdk.ErrorCode(tt.err); got != tt.want {
				t.Fatalf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorf_Cause(t *testing.T) {
	err := sdk.Errorf(sdk.CodeUnavailable, "upstream: %w", context.DeadlineExceeded)
	if !errors.Is(err, context.DeadlineExceeded) || !sdk.IsUnavailable(err) {
		t.Fatalf("Errorf(%%w) = %v, want UNAVAILABLE wrapping the cause", err)
	}
	if !errors.Is(err, &sdk.Error{Code: sdk.CodeUnavailable}) || errors.Is(err, &sdk.Error{Code: sdk.CodeNotFound}) {
		t.Fatalf("errors.Is by code is wrong for %v", err)
	}
}

// TestFromRPCError covers statuses without ErrorInfo: transport failures
// and protocol 1 plugins.
func TestFromRPCError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want sdk.Code
	}{
		{"TransportUnavailable", status.Error(codes.Unavailable, "connection refused"), sdk.CodeUnavailable},
		{"Deadline", status.Error(codes.DeadlineExceeded, "deadline"), sdk.CodeUnavailable},
		{"UnknownService", status.Error(codes.Unimplemented, "unknown service"), sdk.CodeUnsupported},
		{"V1NotFound", status.Error(codes.NotFound, "user x not found"), sdk.CodeNotFound},
		{"V1Invalid", status.Error(codes.InvalidArgument, "bad"), sdk.CodeInvalid},
		{"Unknown", status.Error(codes.DataLoss, "?"), sdk.CodeInternal},
		{"NotStatus", errors.New("plain"), sdk.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sdk.ErrorCode(sdk.FromRPCError(tt.err)); got != tt.want {
				t.Fatalf("FromRPCError(%v) code = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
