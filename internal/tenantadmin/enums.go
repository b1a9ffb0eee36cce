package tenantadmin

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// MfaMode is the MFA requirement of a security policy.
type MfaMode string

// The MFA modes.
const (
	MfaOff      MfaMode = "OFF"
	MfaOptional MfaMode = "OPTIONAL"
	MfaRequired MfaMode = "REQUIRED"
)

// SecuritySetting names one setting of a security policy.
type SecuritySetting string

// The settings, in the order enforcement is reported.
const (
	SettingMfaMode            SecuritySetting = "MFA_MODE"
	SettingSessionIdleMinutes SecuritySetting = "SESSION_IDLE_MINUTES"
	SettingSessionMaxHours    SecuritySetting = "SESSION_MAX_HOURS"
	SettingAllowedCountries   SecuritySetting = "ALLOWED_COUNTRIES"
	SettingIPAllowlist        SecuritySetting = "IP_ALLOWLIST"
)

// Settings lists every setting in report order.
var Settings = []SecuritySetting{SettingMfaMode, SettingSessionIdleMinutes, SettingSessionMaxHours,
	SettingAllowedCountries, SettingIPAllowlist}

// EnforcementStatus says whether the identity provider enforces a setting.
type EnforcementStatus string

// The enforcement statuses.
const (
	Enforced EnforcementStatus = "ENFORCED"
	Recorded EnforcementStatus = "RECORDED"
)

// BrandingSource is where an effective branding value comes from.
type BrandingSource string

// The branding sources, most specific first.
const (
	SourceTenant   BrandingSource = "TENANT"
	SourcePartner  BrandingSource = "PARTNER"
	SourcePlatform BrandingSource = "PLATFORM"
)

// MarshalGQL implements graphql.Marshaler.
func (m MfaMode) MarshalGQL(w io.Writer) { marshalEnum(w, string(m)) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (m *MfaMode) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, (*string)(m), "MfaMode", string(MfaOff), string(MfaOptional), string(MfaRequired))
}

// MarshalGQL implements graphql.Marshaler.
func (s SecuritySetting) MarshalGQL(w io.Writer) { marshalEnum(w, string(s)) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (s *SecuritySetting) UnmarshalGQL(v any) error {
	names := make([]string, len(Settings))
	for i, x := range Settings {
		names[i] = string(x)
	}
	return unmarshalEnum(v, (*string)(s), "SecuritySetting", names...)
}

// MarshalGQL implements graphql.Marshaler.
func (e EnforcementStatus) MarshalGQL(w io.Writer) { marshalEnum(w, string(e)) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (e *EnforcementStatus) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, (*string)(e), "EnforcementStatus", string(Enforced), string(Recorded))
}

// MarshalGQL implements graphql.Marshaler.
func (b BrandingSource) MarshalGQL(w io.Writer) { marshalEnum(w, string(b)) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (b *BrandingSource) UnmarshalGQL(v any) error {
	return unmarshalEnum(v, (*string)(b), "BrandingSource", string(SourceTenant), string(SourcePartner), string(SourcePlatform))
}

func marshalEnum(w io.Writer, s string) { _, _ = io.WriteString(w, strconv.Quote(s)) }

func unmarshalEnum(v any, dst *string, typ string, allowed ...string) error {
	s, ok := v.(string)
	if !ok || !slices.Contains(allowed, s) {
		return fmt.Errorf("%v is not a valid %s", v, typ)
	}
	*dst = s
	return nil
}
