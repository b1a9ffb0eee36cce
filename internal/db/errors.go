package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsUniqueViolation reports whether err (anywhere in its chain) is a unique
// or primary-key violation reported by the database driver: PostgreSQL
// SQLSTATE 23505, SQLite SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY.
func IsUniqueViolation(err error) bool {
	if pe, ok := pqError(err); ok {
		return pe.Code == pqerror.UniqueViolation
	}
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsForeignKeyViolation reports whether err is a foreign-key violation:
// PostgreSQL SQLSTATE 23503, SQLite SQLITE_CONSTRAINT_FOREIGNKEY.
func IsForeignKeyViolation(err error) bool {
	if pe, ok := pqError(err); ok {
		return pe.Code == pqerror.ForeignKeyViolation
	}
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// IsUnavailable reports whether err is a connection-level failure of the
// database rather than a problem with the statement: the same request may
// succeed when retried later. It covers
//   - a broken or refused connection (driver.ErrBadConn, io.EOF and
//     io.ErrUnexpectedEOF from a dropped connection, connection refused or
//     reset, any *net.OpError);
//   - PostgreSQL connection exceptions (SQLSTATE class 08), insufficient
//     resources (class 53, e.g. 53300 too_many_connections), operator
//     intervention 57P01 admin_shutdown, 57P02 crash_shutdown and 57P03
//     cannot_connect_now;
//   - a deadline that expired while waiting for the database (for example
//     for a free connection of the pool);
//   - SQLite SQLITE_BUSY or SQLITE_LOCKED after the busy timeout.
//
// A cancelled context (the caller went away) is not unavailability.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if pe, ok := pqError(err); ok {
		switch pe.Code.Class() {
		case pqerror.ClassConnectionException, pqerror.ClassInsufficientResources:
			return true
		}
		switch pe.Code {
		case pqerror.AdminShutdown, pqerror.CrashShutdown, pqerror.CannotConnectNow:
			return true
		}
		return false
	}
	if code, ok := sqliteCode(err); ok {
		primary := code & 0xff
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	}
	var opErr *net.OpError
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &opErr):
		return true
	}
	return false
}

func pqError(err error) (*pq.Error, bool) {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe, true
	}
	return nil, false
}

func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	return 0, false
}
