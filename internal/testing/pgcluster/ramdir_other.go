//go:build !linux

package pgcluster

// ramDir returns "": only Linux has a standard RAM-backed directory.
func ramDir() string { return "" }
