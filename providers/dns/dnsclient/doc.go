// Package dnsclient is Dezky's typed DNS client: record lookups against
// configured resolvers, verification of a mail domain's records, and
// optional RFC 2136 dynamic updates for hosted zones.
//
// # Contract
//
//   - Lookup asks each configured resolver in order. A query goes over UDP
//     (EDNS0, 1232-byte buffer) and is repeated over TCP when the answer is
//     truncated. A network failure, SERVFAIL, REFUSED or other server error
//     moves on to the next resolver; NOERROR and NXDOMAIN are final answers.
//     The caller's context bounds the whole lookup; Config.Timeout bounds
//     each attempt so that one dead resolver cannot use up the budget.
//   - An empty answer (NODATA) is an empty slice and no error; a name that
//     does not exist (NXDOMAIN) is an error matching ErrNotFound.
//   - TXT values are the record's character-strings concatenated without
//     separator (as SPF and DKIM define); names are returned lower case
//     without the trailing dot.
//   - VerifyMail checks MX, SPF include, DKIM key, DMARC policy and an
//     ownership token and reports each as a Check {ok, expected, found}.
//     Lookup failures are reported per check (StatusError); only an invalid
//     expectation fails the call.
//   - UpsertRecord, ReplaceRecords and DeleteRecord send RFC 2136 updates
//     over TCP to Config.UpdateServer, signed with TSIG (hmac-sha256); the
//     server's signature on the answer is verified.
//   - Errors are *Error values matching one of ErrNotFound, ErrConflict,
//     ErrInvalid, ErrRefused or ErrUnavailable with errors.Is; messages never
//     contain the TSIG secret.
package dnsclient
