// Package cspreport is the receiver of browsers' Content Security Policy
// reports: one http.Handler for every body shape browsers send, bounded in
// everything it accepts, that answers 204 only once the reports are
// committed, and keeps them merged into groups rather than one row each.
//
//	store := cspreport.NewMemoryStore() // or cspreport/sqlstore: SQLite, PostgreSQL
//	rcv, err := cspreport.New(cspreport.Config{Store: store})
//	defer rcv.Close(ctx) // commits what is queued
//	mux.Handle("/csp-report", rcv) // outside the login gate: no session is read
//
// # Bodies
//
// The format is decided by the body's shape, never by Content-Type alone:
// an array is a Reporting API batch (application/reports+json); an object
// with "csp-report" is a legacy report-uri report; an object with "type"
// and "body" is a single Reporting API report, as WebKit sends it with
// application/csp-report. The media type must be application/csp-report,
// application/reports+json or application/json, parameters allowed.
// Reports of other types (deprecation, csp-hash, crash …) are counted by
// type and never mixed into CSP figures; each item of a batch stands
// alone: one that cannot be read is counted and skipped.
//
// # Answers
//
// 204 for well-formed input, whether the reports were stored, filtered or
// were of another type; 400 for an undecodable body, 413 for one too big
// or with too many items, 415 for a wrong media type or any
// Content-Encoding, 405 for a method other than POST or OPTIONS, 429 with
// Retry-After over the client's rate, 503 with Retry-After when the write
// queue is full, the store failed or the commit took longer than
// [Config.CommitTimeout] (see "When the store fails" in
// docs/cspreport.md). Never 410, which makes browsers drop
// the endpoint. CORS preflights and Access-Control-Allow-Origin on POST
// are answered for [Config.AllowedOrigins]. No cookie is read.
//
// # Durability
//
// A 2xx means the reports are committed. Handlers queue their reports and
// wait for a group commit: one goroutine hands the queued reports to the
// store's Save as one batch, gathered until the queue is empty (and no
// handler is on its way), [Config.FlushReports] or [Config.FlushInterval];
// what arrives during a commit makes the next one. When the queue is full,
// the answer is 503, never an accepted report that is then dropped.
//
// # Privacy and grouping
//
// Query and fragment are removed from every URL (unless
// [Config.KeepQuery]); in every URL path, path parameters
// (";jsessionid=…") are removed and segments that look like ids or
// tokens become ":id"; data: bodies are never kept; the client's address
// is cut to /24 or /64. Reports are merged by a group fingerprint
// (directive, blocked origin or keyword, document origin and templated
// path, disposition) and a detail fingerprint (group, source file, line,
// column, sample), with counts and first and last seen; one security event
// is logged per new group, never one per report, once the commit that
// creates the group is saved.
//
// # Metrics
//
// [Receiver.Stats] returns what the receiver counted: requests accepted
// and refused by status and reason, reports by outcome, new groups, the
// size and duration of commits, the store's state and the queue's depth.
// This package links no metrics library; cspreport/metrics exports the
// counts to Prometheus.
package cspreport

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/cspreport/internal/wire"
	"github.com/bulwark-go/bulwark/seclog"
)

// Defaults of [Config].
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxDepth      = 8
	DefaultMaxItems      = 100
	DefaultFlushInterval = 2 * time.Millisecond
	DefaultFlushReports  = 256
	DefaultQueueSize     = 4096
	DefaultRetryAfter    = 30 * time.Second
	// DefaultCommitTimeout is how long a request waits for its commit
	// before it is answered 503: well below the write deadline of a
	// server (bulwark collect's is 30s), so that the 503 reaches the
	// client whatever the store does.
	DefaultCommitTimeout = 5 * time.Second
)

// Config configures a [Receiver]. Only Store is required; the zero value
// of every other field is the secure default.
type Config struct {
	// Store keeps the reports. Required: NewMemoryStore() for tests and
	// one process, cspreport/sqlstore for SQLite or PostgreSQL.
	Store Store
	// Logger is the security logger; nil means seclog.Default(). Its
	// trusted-proxy setting decides the client's address.
	Logger *seclog.Logger
	// MaxBodyBytes bounds a request body (default 1 MiB: 100 reports with
	// large policies). A bigger body is refused with 413 without being
	// decoded.
	MaxBodyBytes int64
	// MaxDepth bounds the nesting of the JSON body (default 8; real
	// reports nest 3 levels).
	MaxDepth int
	// MaxItems bounds the reports of one batch (default 100, the
	// browsers' own queue size); a longer batch is refused with 413.
	MaxItems int
	// AllowedOrigins are the origins ("https://app.example.com", or "*")
	// whose cross-origin Reporting API uploads are allowed: their
	// preflights are answered, and their POSTs get
	// Access-Control-Allow-Origin (without it Firefox counts the upload as
	// failed and sends it again). Empty: same-origin uploads only.
	AllowedOrigins []string
	// RateLimit bounds the reports per client.
	RateLimit RateLimit
	// Filters are the noise filters.
	Filters Filters
	// FlushInterval bounds how long a group commit gathers reports after
	// the first one (default 2ms); it stops earlier at FlushReports, or
	// as soon as the queue is empty (the requests that arrive during a
	// commit make the next one), unless Linger is set.
	FlushInterval time.Duration
	// Linger makes every commit wait the whole FlushInterval for more
	// reports, even when the queue is empty: fewer, larger transactions,
	// but throughput is then bounded by the concurrent requests per
	// FlushInterval (see docs/cspreport.md).
	Linger bool
	// FlushReports commits as soon as this many reports are gathered
	// (default 256).
	FlushReports int
	// QueueSize is how many requests may wait for a commit (default 4096);
	// more are answered 503.
	QueueSize int
	// RetryAfter is the Retry-After of 503 answers (default 30s).
	RetryAfter time.Duration
	// CommitTimeout bounds how long a request waits for the commit of its
	// reports (default DefaultCommitTimeout, 5s): after it (and at most a
	// tenth more: the waits of a tenth share one timer), the request
	// is answered 503 with Retry-After, whatever the store does (a hung
	// or partitioned database included), and the store's Save gets at
	// most a second more. Keep it well below the server's WriteTimeout,
	// or the 503 is written after the connection's deadline and the
	// client sees a dropped connection.
	CommitTimeout time.Duration
	// KeepQuery keeps the query of URLs. The default removes it: queries
	// hold tokens, e-mail addresses and session ids.
	KeepQuery bool
	// IPv4Prefix and IPv6Prefix are the prefix lengths client addresses are
	// cut to, for storage and rate limiting (default 24 and 64).
	IPv4Prefix, IPv6Prefix int
	// Refuse, if set, writes the answers the receiver refuses with (400,
	// 405, 413, 415, 429, 503) instead of the built-in small ones; the
	// status, and Retry-After when due, are set before it is called.
	Refuse func(w http.ResponseWriter, r *http.Request, status int)
	// KeepOther stores Reporting API reports of other types (deprecation,
	// intervention, coop …) apart from the CSP figures ([Store.Others]);
	// they are counted by type either way. Their bodies are stored as
	// sent (at most MaxOtherBodyLen bytes), queries included.
	KeepOther bool
	// RawEvents, when positive, keeps the JSON of violation reports as
	// received ([Store.Events]): at most RawEvents per detail key and hour
	// (and per receiver), for at most 65,536 detail keys an hour. Raw
	// reports hold the URLs with their queries: off by default.
	RawEvents int
	// OnReport, if set, is called with each violation report once it is
	// committed, in the request's goroutine before the 204 is sent: keep
	// it quick (hand the work to a queue of your own). Filtered reports
	// and reports of other types are not passed.
	OnReport func(ctx context.Context, r Report)
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Bounds of what [Config.RawEvents] and [Config.KeepOther] store: a
// longer raw report is not kept as an event; a longer body of another
// type is stored empty.
const (
	MaxRawLen       = 32 << 10
	MaxOtherBodyLen = 16 << 10
)

// Receiver is the CSP report endpoint, an http.Handler. It is safe for
// concurrent use. Close it when the server stops: Close commits what is
// queued.
type Receiver struct {
	store     Store
	log       *seclog.Logger
	maxBody   int64
	maxDepth  int
	maxItems  int
	origins   map[string]bool
	anyOrigin bool
	limit     *limiter
	filters   *filters
	commit    *committer
	retry     string
	keepQuery bool
	v4, v6    int
	refuse    func(http.ResponseWriter, *http.Request, int)
	now       func() time.Time
	keepOther bool
	raw       *rawCap
	onReport  func(context.Context, Report)
	policies  policyHashes
	stats     *stats
}

// New validates cfg and returns a running receiver.
func New(cfg Config) (*Receiver, error) {
	if cfg.Store == nil {
		return nil, errors.New("cspreport: Config.Store is nil: use cspreport.NewMemoryStore() or cspreport/sqlstore.New(ctx, db)")
	}
	if cfg.Logger == nil {
		cfg.Logger = seclog.Default()
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxDepth < 0 || cfg.MaxItems < 0 || cfg.FlushInterval < 0 ||
		cfg.FlushReports < 0 || cfg.QueueSize < 0 || cfg.RetryAfter < 0 || cfg.CommitTimeout < 0 {
		return nil, errors.New("cspreport: MaxBodyBytes, MaxDepth, MaxItems, FlushInterval, FlushReports, QueueSize, RetryAfter and CommitTimeout must not be negative: 0 means the default")
	}
	if cfg.RawEvents < 0 {
		return nil, fmt.Errorf("cspreport: RawEvents %d: write the raw reports to keep per detail key and hour, or 0 to keep none", cfg.RawEvents)
	}
	if cfg.MaxDepth != 0 && cfg.MaxDepth < 3 {
		return nil, fmt.Errorf("cspreport: MaxDepth %d: reports nest 3 levels; write 3 or more, or 0 for the default %d", cfg.MaxDepth, DefaultMaxDepth)
	}
	if cfg.IPv4Prefix < 0 || cfg.IPv4Prefix > 32 || cfg.IPv6Prefix < 0 || cfg.IPv6Prefix > 128 {
		return nil, errors.New("cspreport: IPv4Prefix must be 0 to 32 and IPv6Prefix 0 to 128 (0 means the default, 24 and 64)")
	}
	rl := cfg.RateLimit
	if !rl.Disabled {
		if rl.PerSecond < 0 || rl.Burst < 0 || rl.MaxClients < 0 {
			return nil, errors.New("cspreport: RateLimit: PerSecond, Burst and MaxClients must not be negative (0 means the default; set Disabled to turn limiting off)")
		}
		rl.PerSecond = or(rl.PerSecond, 20)
		rl.Burst = or(rl.Burst, 200)
		rl.MaxClients = or(rl.MaxClients, 65536)
	}
	f, err := compileFilters(cfg.Filters)
	if err != nil {
		return nil, err
	}
	rc := &Receiver{
		store:     cfg.Store,
		log:       cfg.Logger,
		maxBody:   or(cfg.MaxBodyBytes, DefaultMaxBodyBytes),
		maxDepth:  or(cfg.MaxDepth, DefaultMaxDepth),
		maxItems:  or(cfg.MaxItems, DefaultMaxItems),
		origins:   map[string]bool{},
		filters:   f,
		retry:     strconv.Itoa(int(max(time.Second, or(cfg.RetryAfter, DefaultRetryAfter)).Seconds())),
		keepQuery: cfg.KeepQuery,
		v4:        or(cfg.IPv4Prefix, 24),
		v6:        or(cfg.IPv6Prefix, 64),
		refuse:    cfg.Refuse,
		now:       cfg.Now,
		keepOther: cfg.KeepOther,
		onReport:  cfg.OnReport,
		stats:     newStats(f),
	}
	if cfg.RawEvents > 0 {
		rc.raw = &rawCap{per: cfg.RawEvents, n: map[string]int{}}
	}
	if rc.now == nil {
		rc.now = time.Now
	}
	for _, o := range cfg.AllowedOrigins {
		switch {
		case o == "*":
			rc.anyOrigin = true
		case originRE.MatchString(o):
			rc.origins[strings.ToLower(o)] = true
		default:
			return nil, fmt.Errorf("cspreport: AllowedOrigins: %q is not an origin: write scheme://host[:port] without a path, such as \"https://app.example.com\", or \"*\"", o)
		}
	}
	if !rl.Disabled {
		rc.limit = newLimiter(rl)
	}
	rc.commit = newCommitter(cfg.Store, cfg.Logger, or(cfg.QueueSize, DefaultQueueSize),
		or(cfg.FlushInterval, DefaultFlushInterval), cfg.Linger, or(cfg.FlushReports, DefaultFlushReports), or(cfg.CommitTimeout, DefaultCommitTimeout), rc.now)
	rc.commit.stats = rc.stats
	return rc, nil
}

var originRE = regexp.MustCompile(`^(?i)https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^(?i)https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$`)

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Close stops accepting reports (later requests get 503), commits every
// queued one and waits for the last commit, or for ctx. Call it after
// http.Server.Shutdown, so that the requests in flight are committed, and
// before closing the store. It returns an error if the store was failing
// when the last commit was done: those requests were answered 503 and
// their browsers send the reports again, but a program should say, and
// exit with a failure.
func (rc *Receiver) Close(ctx context.Context) error {
	if err := rc.commit.close(ctx); err != nil {
		return err
	}
	if err := rc.commit.health.failing(); err != nil {
		return fmt.Errorf("cspreport: closed while the store fails: %w", err)
	}
	return nil
}

// Memory reused from request to request: the body, its decoded reports.
var (
	bufPool     = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	decodedPool = sync.Pool{New: func() any { return new([]wire.Report) }}
)

// ServeHTTP receives one report request.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	rc.cors(h, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	now := rc.now()
	addr := rc.log.ClientIP(r)
	client := clientPrefix(addr, rc.v4, rc.v6)
	// Every request but a preflight costs its client a token before
	// anything else is done with it, whatever it is then answered: a
	// client over its rate gets 429 before its body is read, hostile
	// bodies included.
	if rc.limit != nil {
		if ok, wait := rc.limit.take(client, 1, now); !ok {
			rc.limited(w, r, client.String(), 1, wait)
			return
		}
	}
	if r.Method != http.MethodPost {
		h.Set("Allow", "POST, OPTIONS")
		rc.fail(w, r, http.StatusMethodNotAllowed, "method")
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		rc.fail(w, r, http.StatusUnsupportedMediaType, "content-encoding")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/csp-report" && mt != "application/reports+json" && mt != "application/json") {
		rc.fail(w, r, http.StatusUnsupportedMediaType, "content-type")
		return
	}
	if r.ContentLength > rc.maxBody {
		rc.fail(w, r, http.StatusRequestEntityTooLarge, "body-size")
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			bufPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, rc.maxBody)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			rc.fail(w, r, http.StatusRequestEntityTooLarge, "body-size")
		} else {
			rc.fail(w, r, http.StatusBadRequest, "read")
		}
		return
	}
	body := buf.Bytes()
	// From here on this request is on its way to a commit: the committer
	// may wait for it rather than commit without it.
	rc.commit.arrive()
	submitted := false
	defer func() {
		if !submitted {
			rc.commit.leave()
		}
	}()
	if err := wire.CheckDepth(body, rc.maxDepth); err != nil {
		rc.fail(w, r, http.StatusBadRequest, "depth")
		return
	}
	dp := decodedPool.Get().(*[]wire.Report)
	d, err := wire.DecodeInto(*dp, body, rc.maxItems)
	defer func() {
		// The reports alias body: cleared before they go back.
		clear(d.Reports)
		*dp = d.Reports[:0]
		decodedPool.Put(dp)
	}()
	switch {
	case errors.Is(err, wire.ErrTooMany):
		rc.fail(w, r, http.StatusRequestEntityTooLarge, "items")
		return
	case errors.Is(err, wire.ErrSyntax):
		rc.fail(w, r, http.StatusBadRequest, "json")
		return
	case err != nil:
		rc.fail(w, r, http.StatusBadRequest, "shape")
		return
	}
	// A batch costs a token per report: the request paid for the first.
	if n := len(d.Reports) + d.Invalid; rc.limit != nil && n > 1 {
		if ok, wait := rc.limit.take(client, n-1, now); !ok {
			rc.limited(w, r, client.String(), n, wait)
			return
		}
	}
	j := rc.prepare(r, &d, now, client.String())
	submitted = true
	if err := rc.commit.submit(r.Context(), j); err != nil {
		// A store error is logged by the committer, once per state
		// change; a client that hung up is neither overload nor an
		// attack, and reads no answer: nothing is logged for it.
		reason, logged := "store-error", false
		switch {
		case errors.Is(err, ErrOverloaded):
			reason, logged = "queue-full", true
		case errors.Is(err, ErrClosed):
			reason, logged = "closed", true
		case errors.Is(err, ErrCommitTimeout):
			reason, logged = "commit-timeout", true
		case r.Context().Err() != nil:
			reason = "client-gone"
		}
		if logged {
			rc.log.Log(r, seclog.CSPReportOverloaded, zap.String("reason", reason))
		}
		rc.stats.refuse(http.StatusServiceUnavailable, reason)
		h.Set("Retry-After", rc.retry)
		rc.write(w, r, http.StatusServiceUnavailable)
		return
	}
	rc.stats.accept(j)
	if rc.onReport != nil {
		for i := range j.reports {
			rc.onReport(r.Context(), j.reports[i])
		}
	}
	// The committer is done with j (it answered): j serves another
	// request. A job whose handler left before its answer is not reused.
	j.release()
	w.WriteHeader(http.StatusNoContent)
}

// prepare normalises and filters the decoded reports into a job.
func (rc *Receiver) prepare(r *http.Request, d *wire.Decoded, now time.Time, client string) *job {
	in := reqInfo{
		receivedAt: now,
		userAgent:  r.Header.Get("User-Agent"),
		client:     client,
		keepQuery:  rc.keepQuery,
		hashes:     &rc.policies,
	}
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		in.version = clean(cmp.Or(q.Get("v"), q.Get("version")), MaxVersionLen)
		in.disposition = q.Get("disposition")
	}
	j := newJob(now)
	var counts map[[2]string]int64 // made for the first count
	count := func(kind, name string, n int64) {
		if counts == nil {
			counts = map[[2]string]int64{}
		}
		counts[[2]string{kind, name}] += n
	}
	if d.Invalid > 0 {
		count(KindInvalid, "item", int64(d.Invalid))
	}
	for i := range d.Reports {
		raw := &d.Reports[i]
		if raw.Type != wire.TypeCSP {
			count(KindOther, reportType(raw.Type), 1)
			if rc.keepOther {
				j.other = append(j.other, other(raw, &in))
			}
			continue
		}
		rep, blocked, doc, src := normalize(raw, &in)
		if reason := rc.filters.match(&rep, blocked, doc, src); reason != "" {
			count(KindFiltered, reason, 1)
			continue
		}
		j.reports = append(j.reports, rep)
		if rc.raw != nil && len(raw.Src) <= MaxRawLen && rc.raw.take(rep.DetailFP, now) {
			j.events = append(j.events, Event{GroupFP: rep.GroupFP, DetailFP: rep.DetailFP, ReceivedAt: stamp(now), Raw: clean(string(raw.Src), MaxRawLen)})
		}
	}
	if len(counts) > 0 {
		j.counters = sortCounters(counts)
	}
	return j
}

// other is a report of another type, as [Config.KeepOther] stores it.
func other(r *wire.Report, in *reqInfo) OtherReport {
	o := OtherReport{
		Type:         clean(r.Type, maxTypeLen),
		URL:          clean(parseValue(r.URL, in.keepQuery).value, MaxURLLen),
		UserAgent:    clean(cmp.Or(r.UserAgent, in.userAgent), MaxUALen),
		ClientPrefix: in.client,
		ReceivedAt:   stamp(in.receivedAt),
	}
	if len(r.Body) <= MaxOtherBodyLen {
		o.Body = clean(string(r.Body), MaxOtherBodyLen)
	}
	return o
}

// rawCap bounds the raw events: at most per for each detail key in an
// hour, for at most maxRawKeys keys an hour.
type rawCap struct {
	per  int
	mu   sync.Mutex
	hour time.Time
	n    map[string]int
}

const maxRawKeys = 1 << 16

func (c *rawCap) take(detailFP string, now time.Time) bool {
	h := hourOf(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !h.Equal(c.hour) {
		c.hour = h
		clear(c.n)
	}
	k := c.n[detailFP]
	if k >= c.per || (k == 0 && len(c.n) >= maxRawKeys) {
		return false
	}
	c.n[detailFP] = k + 1
	return true
}

// knownTypes are the Reporting API types counted by name; others are
// counted as "unknown", so that the set of names stays small.
var knownTypes = map[string]bool{
	"deprecation": true, "intervention": true, "crash": true, "coep": true, "coop": true,
	"permissions-policy-violation": true, "potential-permissions-policy-violation": true,
	"document-policy-violation": true, "integrity-violation": true, "csp-hash": true,
	"network-error": true, "test": true,
}

func reportType(t string) string {
	if knownTypes[t] {
		return t
	}
	return "unknown"
}

func (rc *Receiver) cors(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || (!rc.anyOrigin && !rc.origins[strings.ToLower(origin)]) {
		return
	}
	if rc.anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "content-type")
		h.Set("Access-Control-Max-Age", "86400")
	}
}

func (rc *Receiver) limited(w http.ResponseWriter, r *http.Request, client string, n int, wait time.Duration) {
	secs := strconv.Itoa(int(max(time.Second, wait).Seconds()))
	rc.stats.refuse(http.StatusTooManyRequests, "rate-limit")
	rc.log.Log(r, seclog.CSPReportRateLimited, zap.String("client_prefix", client), zap.Int("reports", n), zap.String("retry_after", secs))
	w.Header().Set("Retry-After", secs)
	rc.write(w, r, http.StatusTooManyRequests)
}

func (rc *Receiver) fail(w http.ResponseWriter, r *http.Request, status int, reason string) {
	rc.stats.refuse(status, reason)
	rc.log.Log(r, seclog.CSPReportRejected, zap.Int("status", status), zap.String("reason", reason))
	rc.write(w, r, status)
}

// write sends a refusal: the user's, or a one-line plain-text body.
func (rc *Receiver) write(w http.ResponseWriter, r *http.Request, status int) {
	if rc.refuse != nil {
		rc.refuse(w, r, status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, http.StatusText(status)+"\n")
}
