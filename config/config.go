package config

import (
	"net/netip"
	"time"
)

// Config is the whole validated configuration. After Load returns it, nothing
// changes it: the server shares it between goroutines without locks.
type Config struct {
	Server     Server       `toml:"server"`
	Upstream   Upstream     `toml:"upstream"`
	Cache      Cache        `toml:"cache"`
	Block      Block        `toml:"block"`
	Blockpage  Blockpage    `toml:"blockpage"`
	Log        Log          `toml:"log"`
	Metrics    Metrics      `toml:"metrics"`
	State      State        `toml:"state"`
	Admin      Admin        `toml:"admin"`
	Director   []Director   `toml:"director"`
	Directory  Directory    `toml:"directory"`
	Notify     Notify       `toml:"notify"`
	Lists      Lists        `toml:"lists"`
	Policy     Policy       `toml:"policy"`
	Department []Department `toml:"department"`
	Exemption  []Exemption  `toml:"exemption"`

	// File is the path the configuration was read from ("(embedded default)"
	// for the built-in one); Dir is the folder relative paths are taken from.
	File string `toml:"-"`
	Dir  string `toml:"-"`
	// Embedded reports the built-in default, whose lists come from the binary.
	Embedded bool `toml:"-"`

	pos Positions
}

// Server is the [server] section: where DNS is served.
type Server struct {
	Listen            []string `toml:"listen"`
	TCPIdleTimeout    Duration `toml:"tcp_idle_timeout"`
	TCPMaxConnections int      `toml:"tcp_max_connections"`
	// UDPSockets is the number of SO_REUSEPORT sockets (each with its own
	// reader) per UDP address; 0 means one per CPU.
	UDPSockets int      `toml:"udp_sockets"`
	Drain      Duration `toml:"drain_timeout"`
	// Allow is who is served (CIDRs or addresses); empty: loopback and
	// every [[department]] network. Anyone else gets REFUSED with EDE 18.
	Allow []string `toml:"allow"`
	// Name is the resolver's DNS name ("dns.city.example"): the console's
	// certificate and the names its pages and /metrics answer to.
	Name string `toml:"name"`
	// LocalZonesOff names special-use and RFC 6303 zones civicdns should
	// not answer itself (["local."]): their names are resolved as any other.
	LocalZonesOff []string `toml:"local_zones_off"`
	// TLSListen serves DNS over TLS (RFC 7858) on these addresses and
	// HTTPSListen DNS over HTTPS (RFC 8484), with the certificate of
	// TLSCert/TLSKey (re-read when the files change).
	TLSListen   []string `toml:"tls_listen"`
	HTTPSListen []string `toml:"https_listen"`
	QUICListen  []string `toml:"quic_listen"`
	TLSCert     string   `toml:"tls_cert"`
	TLSKey      string   `toml:"tls_key"`
	// RateLimit is [server.rate_limit]: how fast each client may ask.
	RateLimit RateLimit `toml:"rate_limit"`

	ListenAddrs   []netip.AddrPort `toml:"-"`
	AllowPrefixes []netip.Prefix   `toml:"-"` // Allow, or the default, parsed
	TLSAddrs      []netip.AddrPort `toml:"-"`
	HTTPSAddrs    []netip.AddrPort `toml:"-"`
	QUICAddrs     []netip.AddrPort `toml:"-"`
}

// RateLimit is [server.rate_limit]: per client (an IPv4 address, an IPv6
// prefix), queries a second with a burst; over it, UDP answers every
// Slip-th query with an empty TC=1 (the client retries over TCP) and drops
// the rest, streams get REFUSED, DoH HTTP 429.
type RateLimit struct {
	Queries    int      `toml:"queries"` // 0: off
	Burst      int      `toml:"burst"`   // 0: twice queries
	Slip       int      `toml:"slip"`
	IPv6Prefix int      `toml:"ipv6_prefix"`
	Exempt     []string `toml:"exempt"`
	LogOnly    bool     `toml:"log_only"`

	ExemptPrefixes []netip.Prefix `toml:"-"`
}

// Upstream is the [upstream] section.
type Upstream struct {
	Mode    string   `toml:"mode"`
	Servers []string `toml:"servers"`
	Timeout Duration `toml:"timeout"`
	// AnswerTimeout is how long a client waits for a miss: past it, it gets
	// SERVFAIL (EDE 22) while the upstreams go on being tried for the cache,
	// so that a stub resolver (glibc waits 5 s) hears an answer in time.
	AnswerTimeout Duration `toml:"answer_timeout"`
	RootHints     string   `toml:"root_hints"`
	// DNSSEC validates answers: on by default in recursive mode; in forward
	// mode only when set (every answer then costs DS lookups through the
	// upstreams until their zones are known).
	DNSSEC      bool   `toml:"dnssec"`
	TrustAnchor string `toml:"trust_anchor"`
	Zone        []Zone `toml:"zone"`
}

// Zone is one [[upstream.zone]]: conditional forwarding for a domain.
type Zone struct {
	Name    string   `toml:"name"`
	Servers []string `toml:"servers"`
}

// Cache is the [cache] section.
type Cache struct {
	Size       int      `toml:"size"`
	MinTTL     Duration `toml:"min_ttl"`
	MaxTTL     Duration `toml:"max_ttl"`
	NegMaxTTL  Duration `toml:"negative_max_ttl"`
	ServeStale Duration `toml:"serve_stale"`
	// StaleAfter is how long a client whose entry has expired waits for the
	// upstream before it gets the expired answer (RFC 8767's client response
	// timer); the refresh goes on. 0 waits for the upstream to fail.
	StaleAfter Duration `toml:"stale_answer_after"`
	Prefetch   bool     `toml:"prefetch"`
}

// Block is the [block] section: how a blocked name is answered.
type Block struct {
	Answer        string   `toml:"answer"`
	BlockpageIPv4 string   `toml:"blockpage_ipv4"`
	BlockpageIPv6 string   `toml:"blockpage_ipv6"`
	TTL           Duration `toml:"ttl"`

	IPv4 netip.Addr `toml:"-"`
	IPv6 netip.Addr `toml:"-"`
}

// Blockpage is the [blockpage] section (served by a later release).
type Blockpage struct {
	Listen    string `toml:"listen"`
	TLSListen string `toml:"tls_listen"`
	CACert    string `toml:"ca_cert"`
	CAKey     string `toml:"ca_key"`
	Contact   string `toml:"contact"`
}

// Log is the [log] section (the query log of a later release).
type Log struct {
	Dir                  string `toml:"dir"`
	RetentionDays        int    `toml:"retention_days"`
	BlockedRetentionDays int    `toml:"blocked_retention_days"`
	Instance             string `toml:"instance"`
	Postgres             string `toml:"postgres"`
	// Leases are the DHCP servers' lease files (patterns allowed: the
	// Windows server's DhcpSrvLog-*.log): every record then names the
	// device (host name, MAC) that held the client address.
	Leases []string `toml:"leases"`
	// Syslog sends lookups and audit events to the city's SIEM, RFC 5424:
	// "tcp+tls://host:port" (RFC 5425), "tcp://host:port", "udp://host:port".
	Syslog       string   `toml:"syslog"`
	SyslogEvents []string `toml:"syslog_events"`  // blocked, exempted, all, audit (default blocked and audit)
	SyslogCACert string   `toml:"syslog_ca_cert"` // the SIEM's CA (empty: the system's)
	// Dnstap sends every query and answer as dnstap (Frame Streams):
	// "unix:/run/civicdns/dnstap.sock" or "tcp:host:port".
	Dnstap string `toml:"dnstap"`
}

// Metrics is the [metrics] section; an empty listen turns the endpoint off.
type Metrics struct {
	Listen string `toml:"listen"`
}

// State is the [state] section (the exemption workflow of a later release).
type State struct {
	Dir string `toml:"dir"`
	// Postgres shares the workflow (requests, decisions, suspensions, the
	// audit trail) between instances through a PostgreSQL database; Dir
	// then keeps the local copy and the queue of requests made while the
	// database is away.
	Postgres string `toml:"postgres"`
}

// Admin is the [admin] section (the director console of a later release).
type Admin struct {
	Listen string `toml:"listen"`
	// TLSCert and TLSKey serve the console over HTTPS; without them, a
	// certificate for [server] name is made from the block page's city CA
	// when both are configured, else the console is plain HTTP.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For (and
	// X-Forwarded-Proto) the console believes.
	TrustedProxies []string `toml:"trusted_proxies"`

	TrustedProxyPrefixes []netip.Prefix `toml:"-"`
}

// Director is one [[director]] (the director console of a later release).
type Director struct {
	Name         string `toml:"name"`
	Department   string `toml:"department"`
	PasswordHash string `toml:"password_hash"`
	// Role "admin" also enrolls and revokes roaming devices of every
	// department in the console; "" is a department's director.
	Role string `toml:"role"`
	// Group: with [directory], every member of this group (a DN, nested
	// membership counts) is this entry's director; no name or password here.
	Group string `toml:"group"`
	Email string `toml:"email"`
}

// Directory is the [directory] section: sign-in against the city's LDAP
// directory or Active Directory.
type Directory struct {
	LDAPURL          string `toml:"ldap_url"` // ldaps://host[:port], or ldap:// (upgraded with StartTLS, never plain)
	BindDN           string `toml:"bind_dn"`
	BindPasswordFile string `toml:"bind_password_file"`
	UserBase         string `toml:"user_base"`
	UserFilter       string `toml:"user_filter"` // %s is the name typed, escaped
	CACert           string `toml:"ca_cert"`     // the directory's CA; empty: the system's
	// OpenID Connect (Entra ID, Keycloak, Google Workspace): the console's
	// "Sign in with your city account", the code flow with PKCE.
	OIDCIssuer           string `toml:"oidc_issuer"`
	OIDCClientID         string `toml:"oidc_client_id"`
	OIDCClientSecretFile string `toml:"oidc_client_secret_file"`
	OIDCGroupsClaim      string `toml:"oidc_groups_claim"` // default "groups"
}

// OIDC reports whether sign-in through an OpenID provider is configured.
func (d Directory) OIDC() bool { return d.OIDCIssuer != "" }

// Notify is the [notify] section: e-mail and the webhook.
type Notify struct {
	SMTP              string `toml:"smtp"` // host:port (STARTTLS, required), or smtps://host:port (implicit TLS)
	From              string `toml:"from"`
	Username          string `toml:"username"`
	PasswordFile      string `toml:"password_file"`
	CACert            string `toml:"ca_cert"`     // the mail relay's CA; empty: the system's
	ConsoleURL        string `toml:"console_url"` // links in the messages
	Webhook           string `toml:"webhook"`     // the same events as JSON POSTs
	WebhookSecretFile string `toml:"webhook_secret_file"`
	WeeklyReport      string `toml:"weekly_report"` // "mon 07:00": each department's report to its directors; "" off

	// Weekly is WeeklyReport parsed (Day -1: off).
	Weekly Weekly `toml:"-"`
}

// Weekly is a time in the week, in [policy] timezone.
type Weekly struct {
	Day          time.Weekday
	Hour, Minute int
	Off          bool
}

// Last is the latest time of the week at or before now, in loc.
func (w Weekly) Last(now time.Time, loc *time.Location) time.Time {
	now = now.In(loc)
	t := time.Date(now.Year(), now.Month(), now.Day(), w.Hour, w.Minute, 0, 0, loc)
	t = t.AddDate(0, 0, -((int(now.Weekday()) - int(w.Day) + 7) % 7))
	if t.After(now) {
		t = t.AddDate(0, 0, -7)
	}
	return t
}

// Mail reports whether e-mail is configured.
func (n Notify) Mail() bool { return n.SMTP != "" }

// Enabled reports whether sign-in against a directory is configured.
func (d Directory) Enabled() bool { return d.LDAPURL != "" }

// RoleAdmin is the [[director]] role of the city's network admins.
const RoleAdmin = "admin"

// Lists is the [lists] section: the folder of category lists. Empty means
// the lists built into the binary.
type Lists struct {
	Dir string `toml:"dir"`
	// Update turns on downloading the imports that have a url and a refresh
	// period; the copies are kept in DownloadDir (default: [state] dir/lists).
	Update      bool   `toml:"update"`
	DownloadDir string `toml:"download_dir"`
	// Watch is how often the configuration and list files are checked for
	// changes (which reload them); 0 turns watching off (SIGHUP still reloads).
	Watch Duration `toml:"watch"`
}

// Policy is the [policy] section: the citywide minimum.
type Policy struct {
	Block []string `toml:"block"`
	Allow []string `toml:"allow"`
	// Timezone names the zone of exemption dates and personal-use hours
	// ("America/Chicago"); empty means the server's.
	Timezone string `toml:"timezone"`
	// MaxExemption bounds every exemption, from any path (a file, the
	// console, the CLI, the API): none runs longer. Default 365 days.
	MaxExemption Duration `toml:"max_exemption"`
	// ApprovedChat names the services of the chat catalogue the city
	// approved (ids, as `civicdns lists services` prints them); every
	// other messenger is "unapproved IM". Default: ["microsoft_teams"].
	ApprovedChat []string `toml:"approved_chat"`
	// BlockWPAD answers wpad and isatap names NXDOMAIN outside the city's
	// own zones, as Windows DNS's global query block list does. Default true.
	BlockWPAD bool `toml:"block_wpad"`

	Location *time.Location `toml:"-"`
}

// MaxExemptionDays is max_exemption in whole days (at least 1).
func (p *Policy) MaxExemptionDays() int { return max(1, int(p.MaxExemption.D()/(24*time.Hour))) }

// Department is one [[department]].
type Department struct {
	Name         string   `toml:"name"`
	Networks     []string `toml:"networks"`
	Block        []string `toml:"block"`
	BlockDomains []string `toml:"block_domains"`
	SafeSearch   bool     `toml:"safesearch"`
	Hours        []Hours  `toml:"hours"`
	// ApprovedChat: more chat services this department approved (never fewer than the city's).
	ApprovedChat []string `toml:"approved_chat"`

	Prefixes []netip.Prefix `toml:"-"`
}

// Hours is one [[department.hours]] window: on its days, between its times
// (in [policy] timezone), it opens some of the department's own extra
// categories (personal use at lunch) or blocks more.
type Hours struct {
	Days  []string `toml:"days"`  // "mon" … "sun", or "daily"
	Hours string   `toml:"hours"` // "12:00-13:00"; an end before the start runs past midnight
	Open  []string `toml:"open"`
	Block []string `toml:"block"`

	DayMask    uint8 `toml:"-"` // bit 0 Sunday … bit 6 Saturday (time.Weekday)
	Start, End int   `toml:"-"` // minutes from midnight
}

// Exemption is one [[exemption]]: a director's written authorization.
type Exemption struct {
	Department string   `toml:"department"`
	Clients    []string `toml:"clients"`
	Category   string   `toml:"category"`
	Domains    []string `toml:"domains"`
	ApprovedBy string   `toml:"approved_by"`
	Reason     string   `toml:"reason"`
	Reference  string   `toml:"reference"`
	Starts     Date     `toml:"starts"`
	Expires    Date     `toml:"expires"`

	ClientPrefixes []netip.Prefix `toml:"-"`
}

// defaults is the configuration before a file is decoded over it.
func defaults() Config {
	return Config{
		Server: Server{
			Listen:            []string{"127.0.0.1:5353"},
			TCPIdleTimeout:    Duration(10 * time.Second),
			TCPMaxConnections: 1000,
			Drain:             Duration(5 * time.Second),
			RateLimit:         RateLimit{Slip: 2, IPv6Prefix: 64},
		},
		Upstream: Upstream{Mode: "forward", Timeout: Duration(2 * time.Second), AnswerTimeout: Duration(4 * time.Second)},
		Cache: Cache{
			Size:       200000,
			MaxTTL:     Duration(24 * time.Hour),
			NegMaxTTL:  Duration(time.Hour),
			ServeStale: Duration(time.Hour),
			StaleAfter: Duration(1800 * time.Millisecond),
			Prefetch:   true,
		},
		Block:   Block{Answer: "nxdomain", TTL: Duration(60 * time.Second)},
		Lists:   Lists{Watch: Duration(2 * time.Second)},
		Metrics: Metrics{Listen: "127.0.0.1:9153"},
		Policy: Policy{Block: []string{"adult", "gambling", "filesharing", "chat", "security"}, MaxExemption: Duration(365 * 24 * time.Hour),
			ApprovedChat: []string{"microsoft_teams"}, BlockWPAD: true},
	}
}
