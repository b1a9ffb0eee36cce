package dnsserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Config describes a server.
type Config struct {
	// Zones lists the zone origins served, e.g. "example.test.".
	Zones []string
	// Records are zone-file lines, e.g. "example.test. 300 IN MX 10 mx.example.test.".
	// An SOA is synthesized for each zone that has none.
	Records []string
	// TSIGKeys maps key names to base64 secrets accepted for updates
	// (hmac-sha256).
	TSIGKeys map[string]string
	// UpdateZones, when set, lists the zones RFC 2136 updates may change
	// (each a served zone or a part of one); updates for other zones get
	// NOTAUTH. Empty: every served zone.
	UpdateZones []string
	// NXDomainOutside answers queries for names outside every zone with
	// NXDOMAIN instead of REFUSED: the server stands in for the whole DNS
	// (what it does not hold does not exist), as a recursive resolver
	// would answer for unregistered names.
	NXDomainOutside bool
	// MaxUDPSize caps UDP answers below the requester's advertised size.
	MaxUDPSize int
	// Rcode, if non-zero, is returned for every query.
	Rcode int
	// Addr is the host:port to serve on, UDP and TCP both. Empty: a
	// loopback port that is free for both.
	Addr string
}

// Server is a running test DNS server.
type Server struct {
	// Addr is the host:port serving both UDP and TCP.
	Addr string

	cfg     Config
	servers []*dns.Server
	mu      sync.Mutex
	zones   []string
	rrs     map[string][]dns.RR // by canonical owner name
	log     []QueryLog
}

// QueryLog records one received message.
type QueryLog struct {
	Network string // "udp" or "tcp"
	Opcode  int
	Name    string
	Type    uint16
}

// Start runs a server for cfg on cfg.Addr (default a loopback port) until
// Close.
func Start(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, rrs: map[string][]dns.RR{}}
	for _, z := range cfg.Zones {
		s.zones = append(s.zones, dns.CanonicalName(z))
	}
	for _, line := range cfg.Records {
		rr, err := dns.NewRR(line)
		if err != nil {
			return nil, fmt.Errorf("dnsserver: record %q: %w", line, err)
		}
		if rr == nil {
			continue
		}
		s.add(rr)
	}
	for _, z := range s.zones {
		if !s.hasType(z, dns.TypeSOA) {
			soa, err := dns.NewRR(fmt.Sprintf("%s 300 IN SOA ns1.%s hostmaster.%s 1 3600 600 86400 60", z, z, z))
			if err != nil {
				return nil, fmt.Errorf("dnsserver: synthesize SOA for %s: %w", z, err)
			}
			s.add(soa)
		}
	}

	pc, ln, err := listenPair(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dnsserver: listen: %w", err)
	}
	s.Addr = pc.LocalAddr().String()
	secrets := map[string]string{}
	for k, v := range cfg.TSIGKeys {
		secrets[dns.CanonicalName(k)] = v
	}
	udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), TsigSecret: secrets, MsgAcceptFunc: accept}
	tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(s.serve), TsigSecret: secrets, MsgAcceptFunc: accept}
	for _, srv := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		s.servers = append(s.servers, srv)
	}
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	for _, srv := range s.servers {
		_ = srv.Shutdown()
	}
	s.servers = nil
}

// listenPair binds UDP and TCP on addr, or on the same ephemeral port of
// addr's host when addr's port is 0 (of the loopback address when addr is
// empty), trying other ports while the one UDP got is taken for TCP.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	host := "127.0.0.1"
	if addr != "" {
		h, port, err := net.SplitHostPort(addr)
		if err == nil && port == "0" {
			host, addr = h, ""
		}
	}
	if addr != "" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			return nil, nil, err
		}
		return pc, ln, nil
	}
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("no port free for both UDP and TCP: %w", lastErr)
}

func accept(dh dns.Header) dns.MsgAcceptAction {
	const qrBit = 1 << 15
	if dh.Bits&qrBit != 0 {
		return dns.MsgIgnore
	}
	if int(dh.Bits>>11)&0xF == dns.OpcodeUpdate {
		return dns.MsgAccept
	}
	return dns.DefaultMsgAcceptFunc(dh)
}

// updatable reports whether updates to zone are accepted: a served zone,
// or with UpdateZones one of those (which may be a subzone of a served
// zone).
func (s *Server) updatable(zone string) bool {
	if len(s.cfg.UpdateZones) == 0 {
		return contains(s.zones, zone)
	}
	for _, z := range s.cfg.UpdateZones {
		if dns.CanonicalName(z) == zone && s.zoneOf(zone) != "" {
			return true
		}
	}
	return false
}

// Add adds records given as zone-file lines (as the owner of a zone
// publishing them would), e.g. "example.test. 300 IN MX 10 mx.example.test.".
func (s *Server) Add(records ...string) error {
	var rrs []dns.RR
	for _, line := range records {
		rr, err := dns.NewRR(line)
		if err != nil {
			return fmt.Errorf("dnsserver: record %q: %w", line, err)
		}
		if rr != nil {
			rrs = append(rrs, rr)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		s.filter(dns.CanonicalName(rr.Header().Name), func(x dns.RR) bool { return !sameRdata(x, rr) })
		s.add(rr)
	}
	return nil
}

// Delete removes every record of type t at name.
func (s *Server) Delete(name string, t uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filter(dns.CanonicalName(name), func(x dns.RR) bool { return x.Header().Rrtype != t })
}

// Queries returns the messages received so far.
func (s *Server) Queries() []QueryLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]QueryLog(nil), s.log...)
}

// Records returns the records of type t at name currently held.
func (s *Server) Records(name string, t uint16) []dns.RR {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dns.RR
	for _, rr := range s.rrs[dns.CanonicalName(name)] {
		if rr.Header().Rrtype == t {
			out = append(out, dns.Copy(rr))
		}
	}
	return out
}

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg) {
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	entry := QueryLog{Network: network, Opcode: r.Opcode}
	if len(r.Question) > 0 {
		entry.Name, entry.Type = r.Question[0].Name, r.Question[0].Qtype
	}
	s.mu.Lock()
	s.log = append(s.log, entry)
	s.mu.Unlock()

	var m *dns.Msg
	if r.Opcode == dns.OpcodeUpdate {
		m = s.update(w, r)
	} else {
		m = s.query(r)
		if network == "udp" {
			size := dns.MinMsgSize
			if opt := r.IsEdns0(); opt != nil {
				size = int(opt.UDPSize())
			}
			if s.cfg.MaxUDPSize > 0 && s.cfg.MaxUDPSize < size {
				size = s.cfg.MaxUDPSize
			}
			m.Truncate(size)
		}
	}
	if t := r.IsTsig(); t != nil && w.TsigStatus() == nil {
		m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
	}
	_ = w.WriteMsg(m)
}

func (s *Server) zoneOf(name string) string {
	best := ""
	for _, z := range s.zones {
		if dns.IsSubDomain(z, name) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

func (s *Server) query(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	if s.cfg.Rcode != 0 {
		m.Rcode = s.cfg.Rcode
		return m
	}
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := r.Question[0]
	name := dns.CanonicalName(q.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	zone := s.zoneOf(name)
	if zone == "" {
		m.Rcode = dns.RcodeRefused
		if s.cfg.NXDomainOutside {
			m.Rcode = dns.RcodeNameError
		}
		return m
	}
	m.Authoritative = true
	for hops := 0; hops < 8; hops++ {
		rrs, exists := s.rrs[name]
		if !exists {
			if len(m.Answer) == 0 {
				m.Rcode = dns.RcodeNameError
			}
			break
		}
		var cname *dns.CNAME
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
			if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if cname == nil || q.Qtype == dns.TypeCNAME || s.zoneOf(cname.Target) != zone {
			if cname != nil && q.Qtype != dns.TypeCNAME {
				m.Answer = append(m.Answer, dns.Copy(cname))
			}
			break
		}
		m.Answer = append(m.Answer, dns.Copy(cname))
		name = dns.CanonicalName(cname.Target)
	}
	if len(m.Answer) == 0 {
		for _, rr := range s.rrs[zone] {
			if rr.Header().Rrtype == dns.TypeSOA {
				m.Ns = append(m.Ns, dns.Copy(rr))
			}
		}
	}
	return m
}

func (s *Server) update(w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	if r.IsTsig() == nil || w.TsigStatus() != nil || len(s.cfg.TSIGKeys) == 0 {
		m.Rcode = dns.RcodeNotAuth
		return m
	}
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	zone := dns.CanonicalName(r.Question[0].Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.updatable(zone) {
		m.Rcode = dns.RcodeNotAuth
		return m
	}
	if len(r.Answer) > 0 {
		// Prerequisites are not supported.
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	for _, rr := range r.Ns {
		if !dns.IsSubDomain(zone, dns.CanonicalName(rr.Header().Name)) {
			m.Rcode = dns.RcodeNotZone
			return m
		}
	}
	for _, rr := range r.Ns {
		if err := s.apply(rr); err != nil {
			m.Rcode = dns.RcodeFormatError
			return m
		}
	}
	return m
}

// apply performs one update RR per RFC 2136 section 3.4.2.
func (s *Server) apply(rr dns.RR) error {
	h := rr.Header()
	name := dns.CanonicalName(h.Name)
	switch h.Class {
	case dns.ClassANY:
		if h.Rrtype == dns.TypeANY {
			delete(s.rrs, name)
			return nil
		}
		s.filter(name, func(x dns.RR) bool { return x.Header().Rrtype != h.Rrtype })
	case dns.ClassNONE:
		want := dns.Copy(rr)
		want.Header().Class = dns.ClassINET
		s.filter(name, func(x dns.RR) bool { return !sameRdata(x, want) })
	case dns.ClassINET:
		add := dns.Copy(rr)
		add.Header().Name = name
		if h.Rrtype == dns.TypeCNAME {
			s.filter(name, func(x dns.RR) bool { return x.Header().Rrtype != dns.TypeCNAME })
		}
		s.filter(name, func(x dns.RR) bool { return !sameRdata(x, add) })
		for _, x := range s.rrs[name] {
			if x.Header().Rrtype == h.Rrtype {
				x.Header().Ttl = h.Ttl
			}
		}
		s.add(add)
	default:
		return errors.New("unsupported class " + strconv.Itoa(int(h.Class)))
	}
	return nil
}

func (s *Server) add(rr dns.RR) {
	name := dns.CanonicalName(rr.Header().Name)
	rr.Header().Name = name
	s.rrs[name] = append(s.rrs[name], rr)
}

func (s *Server) hasType(name string, t uint16) bool {
	for _, rr := range s.rrs[name] {
		if rr.Header().Rrtype == t {
			return true
		}
	}
	return false
}

func (s *Server) filter(name string, keep func(dns.RR) bool) {
	var out []dns.RR
	for _, rr := range s.rrs[name] {
		if keep(rr) {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		delete(s.rrs, name)
		return
	}
	s.rrs[name] = out
}

// sameRdata compares type, class and rdata, ignoring TTL and name case.
func sameRdata(a, b dns.RR) bool {
	ha, hb := a.Header(), b.Header()
	if ha.Rrtype != hb.Rrtype || !strings.EqualFold(ha.Name, hb.Name) {
		return false
	}
	ca, cb := dns.Copy(a), dns.Copy(b)
	ca.Header().Ttl, cb.Header().Ttl = 0, 0
	ca.Header().Class, cb.Header().Class = dns.ClassINET, dns.ClassINET
	ca.Header().Name, cb.Header().Name = dns.CanonicalName(ha.Name), dns.CanonicalName(hb.Name)
	return dns.IsDuplicate(ca, cb)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
