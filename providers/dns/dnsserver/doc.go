// Package dnsserver is an in-process authoritative DNS server holding its
// zones in memory, with RFC 2136 dynamic updates signed by TSIG: the
// loopback DNS of the embedded demo and of tests (package dnsserver).
//
// # Contract
//
//   - Start serves one or more zones over UDP and TCP on the same loopback
//     ephemeral port until Close.
//   - Queries are answered authoritatively from memory: NXDOMAIN for names
//     without records, NOERROR with an empty answer (and the SOA) for a name
//     that exists without the asked type, CNAMEs inside the zone are
//     followed, and names outside every zone are REFUSED (NXDOMAIN with
//     Config.NXDomainOutside).
//   - UDP answers larger than the requester's EDNS0 size (512 without EDNS0)
//     or Config.MaxUDPSize are truncated with the TC bit, so clients must
//     retry over TCP.
//   - RFC 2136 updates are applied (add, delete RR, delete RRset, delete
//     name) when they carry a valid TSIG signature from one of
//     Config.TSIGKeys; unsigned or badly signed updates get NOTAUTH, updates
//     for other zones NOTAUTH and records outside the zone NOTZONE. Answers
//     to signed requests are signed. Applied updates change what later
//     queries return.
//   - Config.UpdateZones, when set, lists the zones updates may change
//     (served zones or parts of them); the others answer NOTAUTH, as a zone
//     hosted elsewhere would.
//   - Add and Delete change records directly, as a zone's owner would.
//   - Config.Rcode, when non-zero, makes the server answer every query with
//     that code (e.g. SERVFAIL) to exercise resolver fallback.
package dnsserver
