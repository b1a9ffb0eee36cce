package graph

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// optional is s, or nil when it is empty (an unset field reads as null).
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
