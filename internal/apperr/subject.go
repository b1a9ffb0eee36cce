package apperr

// SubjectError names the kind of object an operation was about ("tenant",
// "flag") so that the boundary, which maps data-layer errors to codes, can
// say what was not found or already exists. It adds no code of its own.
type SubjectError struct {
	// Subject is the object kind, in the caller's words.
	Subject string
	// Err is the underlying error.
	Err error
}

func (e *SubjectError) Error() string { return e.Subject + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *SubjectError) Unwrap() error { return e.Err }

// About returns err labelled with the object kind it concerns, nil for nil,
// and err unchanged when it already is an application error.
func About(err error, subject string) error {
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	return &SubjectError{Subject: subject, Err: err}
}
