// Package dnstest runs an in-process authoritative DNS server for tests:
// package dnsserver's server, stopped when the test ends. See dnsserver
// for its behaviour.
package dnstest
