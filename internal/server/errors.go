package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/logging"
)

// presentError maps every resolver error to a gqlerror with a stable
// extensions.code. Anything that is not an application error is logged and
// answered as INTERNAL without details.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	present := presentCoded(log)
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := present(ctx, err)
		if id := logging.RequestID(ctx); id != "" {
			if gerr.Extensions == nil {
				gerr.Extensions = map[string]any{}
			}
			gerr.Extensions["requestId"] = id
		}
		return gerr
	}
}

// presentCoded is presentError without the request id.
func presentCoded(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		var inner *gqlerror.Error
		if errors.As(err, &inner) && inner.Extensions != nil && inner.Extensions["code"] != nil && !hasAppErr(err) {
			// Already coded (parser/validation errors, limits).
			return gerr
		}
		if arg, ok := argumentError(ctx, err); ok {
			gerr.Message = fmt.Sprintf("invalid value for argument %q", arg)
			gerr.Extensions = map[string]any{"code": string(apperr.BadUserInput), "field": arg}
			return gerr
		}
		ae, ok := fromDB(err)
		if !ok {
			log.ErrorContext(ctx, "internal error", "path", gerr.Path.String(), "err", err)
			gerr.Message = "internal error"
			gerr.Extensions = map[string]any{"code": string(apperr.Internal)}
			return gerr
		}
		if ae.Code == apperr.Internal {
			log.ErrorContext(ctx, "internal error", "path", gerr.Path.String(), "err", err)
		}
		gerr.Message = ae.Message
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		gerr.Extensions["code"] = string(ae.Code)
		if ae.Field != "" {
			gerr.Extensions["field"] = ae.Field
		}
		return gerr
	}
}

// argumentError reports whether err was raised while decoding an argument
// of the current field (an invalid cursor, enum or input value): the
// caller's mistake, answered BAD_USER_INPUT naming the argument. Errors of
// the application (apperr) keep their own code.
func argumentError(ctx context.Context, err error) (string, bool) {
	var ge *gqlerror.Error
	if hasAppErr(err) || !errors.As(err, &ge) {
		return "", false
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Definition == nil {
		return "", false
	}
	fp := fc.Path()
	if len(ge.Path) <= len(fp) {
		return "", false
	}
	name, ok := ge.Path[len(fp)].(ast.PathName)
	if !ok || fc.Field.Definition.Arguments.ForName(string(name)) == nil {
		return "", false
	}
	return string(name), true
}

func hasAppErr(err error) bool {
	_, ok := apperr.As(err)
	return ok
}

// recoverPanic logs a resolver panic and answers INTERNAL.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "resolver panic", "panic", p)
		return apperr.New(apperr.Internal, "internal error")
	}
}

// codedError returns a gqlerror with a code, for extensions that reject
// operations before execution.
func codedError(code apperr.Code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(code)}}
}
