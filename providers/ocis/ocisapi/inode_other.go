//go:build !unix

package ocisapi

import "os"

// fileInode is 0 where inodes are unavailable; rotation is then detected by
// truncation only.
func fileInode(os.FileInfo) uint64 { return 0 }
