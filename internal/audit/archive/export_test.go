package archive

// SetStep installs a hook called at named points of each batch ("put",
// "uploaded", "deleted-chunk"); an error it returns fails the batch there.
func SetStep(a *Archiver, f func(name string, startSeq int64) error) { a.step = f }

func ServiceArchiver(s *Service) *Archiver { return s.archiver }
