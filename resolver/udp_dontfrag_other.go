//go:build !linux

package resolver

// dontFragment leaves the system's default elsewhere: see the Linux one.
func dontFragment(network string, fd int) error { return nil }
