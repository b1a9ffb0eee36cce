package pgcluster

import (
	"os"
	"syscall"
)

// minRAMFree is the free space /dev/shm must have to hold clusters: one
// with its migrated template takes about 50 MB, each test database about
// 10 MB, and several test binaries run at once. Containers often mount a
// 64 MB /dev/shm, which is too small.
const minRAMFree = 1 << 30

// ramDir returns /dev/shm when it is writable and has at least
// minRAMFree bytes free, else "".
func ramDir() string {
	const shm = "/dev/shm"
	var st syscall.Statfs_t
	if err := syscall.Statfs(shm, &st); err != nil || uint64(st.Bavail)*uint64(st.Bsize) < minRAMFree {
		return ""
	}
	f, err := os.CreateTemp(shm, "dezky-pg-probe-")
	if err != nil {
		return ""
	}
	f.Close()
	os.Remove(f.Name())
	return shm
}
