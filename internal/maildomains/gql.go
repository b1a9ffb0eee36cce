package maildomains

import (
	"fmt"
	"io"
	"strconv"
)

// MarshalGQL writes the purpose as a GraphQL enum value.
func (p Purpose) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(p))) }

// UnmarshalGQL reads a GraphQL enum value.
func (p *Purpose) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	switch Purpose(s) {
	case PurposeOwnership, PurposeMX, PurposeSPF, PurposeDKIM, PurposeDMARC:
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%v is not a DnsRecordPurpose", v)
	}
	*p = Purpose(s)
	return nil
}

// MarshalGQL writes the check status as a GraphQL enum value.
func (c CheckStatus) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(c))) }

// UnmarshalGQL reads a GraphQL enum value.
func (c *CheckStatus) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	switch CheckStatus(s) {
	case CheckOK, CheckMissing, CheckMismatch:
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%v is not a DnsCheckStatus", v)
	}
	*c = CheckStatus(s)
	return nil
}
