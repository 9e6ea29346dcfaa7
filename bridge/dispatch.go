package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"roombridge/models"
)

// Dispatcher runs the outbox: it claims due jobs, performs them at their backend and
// records the outcome on the reservation. A job is leased to this instance (Owner) while
// it runs and the lease is renewed by a heartbeat, so the lease can be short: a job whose
// process died is picked up by another replica once its lease runs out, and at once by
// the same instance when it restarts. Backends make retried writes idempotent with the
// job id, so a booking reaches its backend exactly once.
type Dispatcher struct {
	store    *models.Store
	backends map[models.Backend]Backend
	routing  models.Routing
	now      func() time.Time
	log      *slog.Logger
	metrics  *Metrics

	// owner names this instance in the jobs it holds.
	owner string
	// lease is how long a claimed job is reserved without a heartbeat.
	lease time.Duration
	// jobTimeout bounds one backend write.
	jobTimeout time.Duration
	poll       time.Duration
	workers    int
	backoff    func(attempt int) time.Duration

	wake chan struct{}
	// kicks counts Kick calls (see handOff.start).
	kicks atomic.Uint64
	// slots holds a token for every job running (at most workers), in passes and handed
	// over alike.
	slots chan struct{}
	// burst holds the token of the one job that runs while bookings arrive in a burst
	// (see yielding).
	burst chan struct{}
	// booking counts the bookings being written (Service.Book) at this moment.
	booking atomic.Int64
	// mu guards live, the running Run's state (nil while Run is not running).
	mu      sync.Mutex
	live    *liveRun
	changes *changes
	// counted is when the outbox gauges were last counted (Unix nanoseconds).
	counted  atomic.Int64
	detector *Detector
	notify   *NotifyConfig
}

// DispatcherConfig holds the Dispatcher's dependencies and knobs (zero = default).
type DispatcherConfig struct {
	Store    *models.Store
	Backends []Backend
	Routing  models.Routing
	Now      func() time.Time
	Logger   *slog.Logger
	Metrics  *Metrics
	// Owner names this instance (default: host name and process id). It must be unique
	// among running instances and should stay the same across restarts of one instance,
	// so that a restarted instance takes back its jobs at once (see Run).
	Owner string
	// Lease (default 15 s) is how long a claimed job stays reserved without a heartbeat;
	// the heartbeat renews it every third of that while the job runs.
	Lease      time.Duration
	JobTimeout time.Duration
	// Poll is how often due retries are looked for when nothing wakes the dispatcher
	// (default 1 s).
	Poll time.Duration
	// Workers is how many jobs run at once (default 4).
	Workers int
	// Backoff gives the delay before retry number attempt (default: exponential from 2 s
	// to 5 min with jitter).
	Backoff func(attempt int) time.Duration
	// Detector, when set, looks for conflicts around every reservation a job changed.
	Detector *Detector
	// Notify, when set, turns on notifications (see NotifyConfig); nil means off.
	Notify *NotifyConfig
}

// NewDispatcher builds a Dispatcher.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	d := &Dispatcher{
		store: cfg.Store, backends: map[models.Backend]Backend{}, routing: cfg.Routing,
		now: cfg.Now, log: cfg.Logger, metrics: cfg.Metrics, owner: cfg.Owner,
		lease: cfg.Lease, jobTimeout: cfg.JobTimeout, poll: cfg.Poll, workers: cfg.Workers, backoff: cfg.Backoff,
		wake: make(chan struct{}, 1), detector: cfg.Detector, notify: cfg.Notify,
	}
	for _, b := range cfg.Backends {
		d.backends[b.Name()] = b
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.lease <= 0 {
		d.lease = 15 * time.Second
	}
	if d.owner == "" {
		d.owner = DefaultOwner("")
	}
	if d.jobTimeout <= 0 {
		d.jobTimeout = 45 * time.Second
	}
	if d.poll <= 0 {
		d.poll = time.Second
	}
	if d.workers <= 0 {
		d.workers = 4
	}
	if d.backoff == nil {
		d.backoff = DefaultBackoff
	}
	d.slots = make(chan struct{}, d.workers)
	d.burst = make(chan struct{}, 1)
	return d
}

// DefaultBackoff is exponential from 2 s, doubling to at most 5 min, with ±20% jitter.
func DefaultBackoff(attempt int) time.Duration { return BackoffUpTo(5 * time.Minute)(attempt) }

// BackoffUpTo is exponential from 2 s (or most, if smaller), doubling to at most most,
// with ±20% jitter.
func BackoffUpTo(most time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := min(2*time.Second, most)
		for i := 1; i < attempt && d < most; i++ {
			d *= 2
		}
		d = min(d, most)
		return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	}
}

// Kick wakes the dispatcher to look for due jobs now. It never blocks.
func (d *Dispatcher) Kick() {
	d.kicks.Add(1)
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// DefaultOwner names an instance by its host and tag (the listen address, say), or by
// its host and process id when tag is empty.
func DefaultOwner(tag string) string {
	host, _ := os.Hostname()
	if tag == "" {
		tag = fmt.Sprintf("pid%d", os.Getpid())
	}
	return host + "/" + tag
}

// Run processes jobs until ctx ends: at once when kicked, otherwise every poll interval.
// It first takes back the jobs a previous life of this instance held when it died, so
// they do not wait for their leases to run out. A failing pass is logged and retried on
// the next tick.
func (d *Dispatcher) Run(ctx context.Context) error {
	if n, err := d.store.ReleaseOwnedJobs(ctx, d.owner); err != nil {
		d.log.Warn("take back jobs of a previous run", "owner", d.owner, "err", err)
	} else if n > 0 {
		d.log.Info("took back jobs a previous run held", "owner", d.owner, "jobs", n)
	}
	t := time.NewTicker(d.poll)
	defer t.Stop()
	// Conflicts are looked for beside the passes: the next job need not wait for the
	// look around the last one, and jobs that finish meanwhile are looked at together.
	var later *detections
	if d.detector != nil {
		later = newDetections()
		done := make(chan struct{})
		go func() {
			defer close(done)
			later.run(ctx, d)
		}()
		defer func() { <-done }()
	}
	defer d.goLive(ctx, later)()
	for {
		for {
			n, err := d.pass(ctx, later)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				d.log.Warn("outbox pass", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-t.C:
		}
	}
}

// RunOnce claims the jobs due now and runs them (several at once), returning how many
// ran. It returns once conflicts around what they changed have been looked for.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) { return d.pass(ctx, nil) }

// pass is RunOnce; with later set, the look for conflicts is left to it.
func (d *Dispatcher) pass(ctx context.Context, later *detections) (int, error) {
	jobs, err := d.store.ClaimJobs(ctx, d.owner, d.lease, d.workers*2)
	if err != nil {
		return 0, err
	}
	hb := d.heartbeat(ctx, jobs)
	defer hb.stop()
	pre := d.prefetch(ctx, jobs)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		changed []string // reservations the jobs changed, for conflict detection
	)
	for _, j := range jobs {
		wg.Add(1)
		release := d.acquire()
		go func(j models.Job) {
			defer wg.Done()
			defer release()
			ids := d.runJob(ctx, j, pre[j.ID])
			hb.done(j.ID)
			mu.Lock()
			changed = append(changed, ids...)
			mu.Unlock()
		}(j)
	}
	wg.Wait()
	// One look for conflicts around everything the pass changed: the detector works
	// under one lock, so a look per job would queue the workers behind each other.
	switch {
	case d.detector == nil || len(changed) == 0:
	case later != nil:
		later.add(changed)
	default:
		d.detect(ctx, changed)
	}
	// The outbox gauges are counted at most once per poll interval: a burst of bookings
	// makes a pass per booking, and the ticker's passes keep them current afterwards.
	if now := d.now(); d.metrics != nil && now.Sub(time.Unix(0, d.counted.Load())) >= d.poll {
		if counts, err := d.store.JobCounts(ctx, models.JobPending, models.JobFailed); err == nil {
			d.counted.Store(now.UnixNano())
			d.metrics.outboxPending.Set(float64(counts[models.JobPending]))
			d.metrics.outboxFailed.Set(float64(counts[models.JobFailed]))
		}
	}
	return len(jobs), nil
}

// burstBookings is how many bookings being written at once make a burst. While one
// lasts, the dispatcher runs one job at a time instead of Workers: bookings that arrive
// together are answered at the rate the database can write them, and the backend
// writes they queue follow at once at full speed when the burst is over. The outbox
// never stops meanwhile: one job always runs, and a booking made alone (or a few at
// once) is handed to a worker at once as before.
const burstBookings = 8

// Booking marks a booking being written until the returned done is called: the
// dispatcher yields to bursts of them (see burstBookings).
func (d *Dispatcher) Booking() (done func()) {
	d.booking.Add(1)
	return func() { d.booking.Add(-1) }
}

// yielding reports whether bookings arrive in a burst (see burstBookings).
func (d *Dispatcher) yielding() bool { return d.booking.Load() >= burstBookings }

// acquire waits for a worker for a job and returns what gives it back: one of Workers,
// or the one that runs during a burst of bookings.
func (d *Dispatcher) acquire() (release func()) {
	d.slots <- struct{}{}
	if !d.yielding() {
		return func() { <-d.slots }
	}
	d.burst <- struct{}{}
	return func() { <-d.burst; <-d.slots }
}

// tryAcquire is acquire when a worker is free at once; ok is false otherwise.
func (d *Dispatcher) tryAcquire() (release func(), ok bool) {
	select {
	case d.slots <- struct{}{}:
	default:
		return nil, false
	}
	if !d.yielding() {
		return func() { <-d.slots }, true
	}
	select {
	case d.burst <- struct{}{}:
		return func() { <-d.burst; <-d.slots }, true
	default:
		<-d.slots
		return nil, false
	}
}

// prefetch reads what claimed jobs need before they run, in a few statements for all of
// them: their reservations, in one, and their rooms, organizers and attendees from the
// catalog as the store keeps it (proved current by one statement). A job it finds
// nothing for (a series job, or when a read fails) reads on its own as it runs.
func (d *Dispatcher) prefetch(ctx context.Context, jobs []models.Job) map[string]*prefetched {
	of := make(map[string]string, len(jobs)) // job id → the reservation it acts on
	ids := make([]string, 0, len(jobs))
	for _, j := range jobs {
		if id := jobReservation(j); id != "" {
			of[j.ID] = id
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	view, err := d.store.CurrentCatalogView(ctx)
	if err != nil {
		return nil
	}
	rs, err := d.store.ReservationsByID(ctx, ids)
	if err != nil {
		return nil
	}
	byID := make(map[string]models.Reservation, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	out := make(map[string]*prefetched, len(jobs))
	for job, id := range of {
		r, ok := byID[id]
		if !ok {
			continue
		}
		room, err := view.Room(r.RoomID)
		if err != nil {
			continue
		}
		pre := prefetchedFrom(view, r, room)
		out[job] = &pre
	}
	return out
}

// jobReservation is the reservation job j acts on and reads ("" for a series job).
func jobReservation(j models.Job) string {
	if j.Kind.SeriesJob() {
		return ""
	}
	var p struct {
		Occurrence  string `json:"occurrence"`
		Reservation string `json:"reservation"`
	}
	_ = json.Unmarshal([]byte(j.Payload), &p)
	switch {
	case j.Kind == models.JobNotify:
		return p.Reservation
	case p.Occurrence != "":
		return p.Occurrence
	}
	return j.ReservationID
}

// liveRun is what jobs handed over while Run runs share with it.
type liveRun struct {
	ctx   context.Context
	later *detections // nil without a detector
	// jobs counts the hand-overs reserved and not yet over: Run waits for them.
	jobs sync.WaitGroup
}

// goLive lets bookings hand their jobs over (see handOff) until the returned stop is
// called; stop returns once the jobs handed over have finished.
func (d *Dispatcher) goLive(ctx context.Context, later *detections) (stop func()) {
	live := &liveRun{ctx: ctx, later: later}
	d.mu.Lock()
	d.live = live
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		d.live = nil
		d.mu.Unlock()
		live.jobs.Wait()
	}
}

// handOff is a booking's create job that this instance runs at once, in-process, instead
// of finding it in the outbox: the job is stored already leased to the instance (see
// lease), so it costs no claim, and the reservation and room the booking wrote and read
// need not be read again. The job is a row in the outbox like any other: a process that
// dies while holding it leaves it to be taken again when the lease runs out, or at once
// when the same instance restarts (Run). A nil *handOff does nothing (no hand-over).
type handOff struct {
	d     *Dispatcher
	run   *liveRun
	kicks uint64
	// release gives back the worker reserved for the job.
	release func()
}

// reserveHandOff reserves a worker for a job about to be enqueued, or returns nil when
// none is free or Run is not running (the job then goes through the outbox as usual).
func (d *Dispatcher) reserveHandOff() *handOff {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live == nil || d.live.ctx.Err() != nil {
		return nil
	}
	release, ok := d.tryAcquire()
	if !ok {
		return nil
	}
	d.live.jobs.Add(1)
	return &handOff{d: d, run: d.live, kicks: d.kicks.Load(), release: release}
}

// lease makes j, about to be stored, leased to this instance from the start of its
// first attempt (as ClaimJobs would make it).
func (h *handOff) lease(j *models.Job) {
	if h == nil {
		return
	}
	now := h.d.now().UTC().Truncate(time.Second)
	until, owner := now.Add(h.d.lease), h.d.owner
	if j.ID == "" {
		j.ID = models.NewID()
	}
	j.State, j.Attempts, j.LockedUntil, j.LockedBy = models.JobPending, 1, &until, &owner
	j.NextAttemptAt, j.CreatedAt, j.UpdatedAt = now, now, now
}

// cancel gives the worker back: the leased job was not stored.
func (h *handOff) cancel() {
	if h == nil {
		return
	}
	h.release()
	h.run.jobs.Done()
}

// lost gives the worker back when the booking's transaction failed: it may have
// committed all the same (its answer lost), leaving j stored and leased to this instance
// with nobody to run it. The lease is let go and the dispatcher told, so its next pass
// runs the job instead of waiting for the lease to run out (and a job that was not
// stored is not found).
func (h *handOff) lost(j models.Job) {
	if h == nil {
		return
	}
	h.release()
	d, ctx := h.d, h.run.ctx
	go func() {
		defer h.run.jobs.Done()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		released, err := d.store.ReleaseHandOff(rctx, j.ID, d.owner)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Warn("release the lease of a job whose booking failed; it runs once the lease is over", "job", j.ID, "reservation", j.ReservationID, "err", err)
		case released:
			d.log.Info("booking stored though its commit failed; its job runs at the next pass", "job", j.ID, "reservation", j.ReservationID)
			d.Kick()
		}
	}()
}

// start runs j, stored leased (see lease) together with the reservation in pre, with a
// heartbeat like a claimed job's.
func (h *handOff) start(j models.Job, pre prefetched) {
	if h == nil {
		return
	}
	d, ctx := h.d, h.run.ctx
	go func() {
		defer h.run.jobs.Done()
		defer h.release()
		hb := d.heartbeat(ctx, []models.Job{j})
		ids := d.runJob(ctx, j, &pre)
		hb.done(j.ID)
		hb.stop()
		if h.run.later != nil && len(ids) > 0 {
			h.run.later.add(ids)
		}
		if d.kicks.Load() != h.kicks {
			// Something was enqueued since this job was: it may wait behind this one
			// (a cancel of this booking), and is free to run now.
			d.Kick()
		}
	}()
}

// prefetched is what a handed-over job's booking already holds: its reservation as
// stored, and its room, organizer and attendees from the catalog the booking was
// checked against (nil organizer: read it).
type prefetched struct {
	r         models.Reservation
	room      models.Room
	organizer *models.User
	attendees []models.User // those of r.Attendees the catalog knows
}

// detect looks for conflicts around the reservations ids.
func (d *Dispatcher) detect(ctx context.Context, ids []string) {
	if _, err := d.detector.DetectIDs(ctx, ids...); err != nil && ctx.Err() == nil {
		d.log.Warn("detect conflicts after jobs", "reservations", len(ids), "err", err)
	}
}

// detections collects the reservations jobs changed until Run's detection goroutine
// looks at them, all that gathered meanwhile at once.
type detections struct {
	mu   sync.Mutex
	ids  map[string]bool
	wake chan struct{}
}

func newDetections() *detections {
	return &detections{wake: make(chan struct{}, 1), ids: map[string]bool{}}
}

func (l *detections) add(ids []string) {
	l.mu.Lock()
	for _, id := range ids {
		l.ids[id] = true
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// detectSettle is how long Run lets the reservations changed by jobs gather before it
// looks for conflicts around them: one look costs about as much for one booking as for
// dozens (it reads the catalog each time), and nobody waits for it.
const detectSettle = 100 * time.Millisecond

// run looks for conflicts around what was added, until ctx ends.
func (l *detections) run(ctx context.Context, d *Dispatcher) {
	settle := time.NewTimer(detectSettle)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		settle.Reset(detectSettle)
		select {
		case <-ctx.Done():
			return
		case <-settle.C:
		}
		if ids := l.take(); len(ids) > 0 {
			d.detect(ctx, ids)
		}
	}
}

// take returns what was added since the last take.
func (l *detections) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.ids))
	for id := range l.ids {
		ids = append(ids, id)
	}
	clear(l.ids)
	return ids
}

// heartbeat renews the leases of running jobs every third of the lease until each is
// done, so a long backend call keeps its job while a dead worker's lease runs out soon.
type heartbeat struct {
	mu      sync.Mutex
	running map[string]bool
	quit    chan struct{}
	wg      sync.WaitGroup
}

func (d *Dispatcher) heartbeat(ctx context.Context, jobs []models.Job) *heartbeat {
	h := &heartbeat{running: map[string]bool{}, quit: make(chan struct{})}
	for _, j := range jobs {
		h.running[j.ID] = true
	}
	if len(jobs) == 0 {
		return h
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(max(d.lease/3, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-h.quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			h.mu.Lock()
			ids := make([]string, 0, len(h.running))
			for id := range h.running {
				ids = append(ids, id)
			}
			h.mu.Unlock()
			if _, err := d.store.RenewJobs(ctx, d.owner, ids, d.lease); err != nil && ctx.Err() == nil {
				d.log.Warn("renew job leases", "jobs", len(ids), "err", err)
			}
		}
	}()
	return h
}

func (h *heartbeat) done(id string) {
	h.mu.Lock()
	delete(h.running, id)
	h.mu.Unlock()
}

func (h *heartbeat) stop() {
	close(h.quit)
	h.wg.Wait()
}

// runJob performs one job and records its result; storage errors leave the job leased,
// so it runs again after the lease. It returns the reservations the job changed (to
// look for conflicts around).
func (d *Dispatcher) runJob(ctx context.Context, j models.Job, pre *prefetched) []string {
	start := time.Now()
	res, outcome := d.perform(ctx, j, pre)
	changed, err := d.store.FinishJobChanges(ctx, res)
	if err != nil {
		d.log.Error("record job outcome", "job", j.ID, "reservation", j.ReservationID, "err", err)
		return nil
	}
	d.changes.notifySaved(changed.Reservation)
	if pre != nil && len(res.Then) > 0 {
		d.Kick() // a handed-over job has no pass to look for its follow-ups at once
	}
	d.afterJob(ctx, j, res, outcome)
	if d.metrics != nil {
		d.metrics.jobs.WithLabelValues(string(j.Backend), string(j.Kind), outcome).Inc()
		d.metrics.jobSeconds.WithLabelValues(string(j.Backend), string(j.Kind)).Observe(time.Since(start).Seconds())
	}
	lvl := slog.LevelInfo
	if outcome == "retry" || outcome == "failed" {
		lvl = slog.LevelWarn
	}
	d.log.Log(ctx, lvl, "outbox job", "job", j.ID, "reservation", j.ReservationID, "kind", j.Kind,
		"backend", j.Backend, "attempt", j.Attempts, "outcome", outcome, "err", res.Error)
	if changed.Absorbed != "" {
		return []string{j.ReservationID, changed.Absorbed}
	}
	return []string{j.ReservationID}
}

// perform runs the job at its backend and decides what to record. pre, when set, is
// the job's reservation and room as its booking stored and read them.
func (d *Dispatcher) perform(ctx context.Context, j models.Job, pre *prefetched) (models.JobResult, string) {
	now := d.now()
	if j.Kind.SeriesJob() {
		return d.performSeries(ctx, j, now)
	}
	if j.Kind == models.JobNotify {
		return d.sendNotice(ctx, j, pre)
	}
	var p jobPayload
	if j.Payload != "" {
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			return models.JobResult{Job: j, State: models.JobFailed, Error: "bad payload: " + err.Error()}, "failed"
		}
	}
	if p.Occurrence != "" {
		// Queued under its series; the outcome is the occurrence's.
		j.ReservationID = p.Occurrence
	}
	var r models.Reservation
	if pre != nil && pre.r.ID == j.ReservationID {
		r = pre.r
	} else {
		var err error
		if r, err = d.store.Reservation(ctx, j.ReservationID); err != nil {
			return d.retry(j, fmt.Errorf("load reservation: %w", err)), "retry"
		}
		pre = nil
	}
	switch j.Kind {
	case models.JobCreate:
		return d.create(ctx, j, r, p, now, pre)
	case models.JobCancel:
		return d.cancel(ctx, j, r, p, now)
	}
	return models.JobResult{Job: j, State: models.JobFailed, Error: "unknown job kind " + string(j.Kind)}, "failed"
}

func (d *Dispatcher) retry(j models.Job, err error) models.JobResult {
	return models.JobResult{Job: j, State: models.JobPending, NextAttemptAt: d.now().Add(d.backoff(j.Attempts)), Error: err.Error()}
}

// permanent reports whether a backend error means the write can never succeed as asked.
func permanent(err error) bool {
	return errors.Is(err, models.ErrConflict) || errors.Is(err, models.ErrInvalid) ||
		errors.Is(err, models.ErrForbidden) || errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrFrozen)
}

func (d *Dispatcher) write(ctx context.Context, j models.Job, r models.Reservation, pre *prefetched) (Write, Backend, error) {
	b, ok := d.backends[j.Backend]
	if !ok {
		return Write{}, nil, fmt.Errorf("%w: backend %s is not configured", models.ErrUnavailable, j.Backend)
	}
	w := Write{Key: j.ID, Reservation: r, RemoteID: j.RemoteID, FirstAttempt: j.Attempts <= 1}
	var err error
	if pre != nil && pre.room.ID == r.RoomID {
		w.Room = pre.room
	} else if w.Room, err = d.store.Room(ctx, r.RoomID); err != nil {
		return w, b, err
	}
	if pre != nil && pre.organizer != nil && pre.organizer.ID == r.OrganizerID {
		w.Organizer, w.Attendees = *pre.organizer, pre.attendees
		return w, b, nil
	}
	if r.OrganizerID != "" {
		if w.Organizer, err = d.store.User(ctx, r.OrganizerID); err != nil {
			return w, b, fmt.Errorf("organizer %s: %w", r.OrganizerID, err)
		}
	}
	for _, a := range r.Attendees {
		if u, err := d.store.User(ctx, a); err == nil {
			w.Attendees = append(w.Attendees, u)
		}
	}
	return w, b, nil
}

func (d *Dispatcher) create(ctx context.Context, j models.Job, r models.Reservation, p jobPayload, now time.Time, pre *prefetched) (models.JobResult, string) {
	if r.Status == models.StatusCancelled && j.Attempts <= 1 {
		// Cancelled before it was ever sent: nothing to book, nothing to release.
		return models.JobResult{Job: j, State: models.JobDone, Error: "cancelled before it was sent"}, "skipped"
	}
	if err := d.routing.CheckWritable(j.Backend, now); err != nil {
		return d.refuse(ctx, j, r, p, err), "rejected"
	}
	w, b, err := d.write(ctx, j, r, pre)
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, d.jobTimeout)
		var remote string
		remote, err = b.Create(cctx, w)
		cancel()
		if err == nil {
			var then []models.Job
			switch {
			case p.Prev != nil && p.Prev.Backend != j.Backend:
				then = d.notifyJobs(r, models.NoticeMigrated, j.ID)
			case !p.Restore && r.Status == models.StatusPending && d.lateOutcome(j.CreatedAt, now):
				then = d.notifyJobs(r, models.NoticeConfirmed, j.ID)
			}
			return models.JobResult{Job: j, State: models.JobDone, AbsorbImported: true, Then: then, Update: func(x *models.Reservation) bool {
				x.RemoteID = &remote
				x.Backend = j.Backend
				x.OwnEvent = bookedAlone(*x)
				if x.Status == models.StatusPending {
					x.Status = models.StatusConfirmed
					if !p.Restore {
						x.SetReason(models.Reason{})
					}
				}
				return true
			}, Audit: &models.AuditEntry{Actor: "system", Action: "confirmed", ReservationID: r.ID, Detail: fmt.Sprintf("%s id %s", j.Backend, remote)}}, "confirmed"
		}
	}
	if permanent(err) {
		return d.refuse(ctx, j, r, p, err), "rejected"
	}
	if !r.Start.After(now) && r.Status == models.StatusPending {
		return d.refuse(ctx, j, r, p, models.E(models.ErrUnavailable, models.ReasonUnreachable, "", models.ArgBackend, string(j.Backend)).Wrap(err)), "rejected"
	}
	return d.retry(j, err), "retry"
}

// refuse records that the backend will not take the booking. A refused reschedule puts
// the reservation back as it was (re-booking the old slot if it was already released),
// unless the user changed it since (cancelled it): the latest change stands, and the
// old slot, if still held, is released by the reschedule's own release job. A refused
// re-booking of the old slot rejects the reservation: it is lost.
func (d *Dispatcher) refuse(ctx context.Context, j models.Job, r models.Reservation, p jobPayload, cause error) models.JobResult {
	reason := reasonOf(j.Backend, cause)
	res := models.JobResult{Job: j, State: models.JobDone, Error: cause.Error()}
	asked := j.CreatedAt
	if !p.Asked.IsZero() {
		asked = p.Asked
	}
	// A reservation cancelled since is not the user's to hear about: the cancel stands.
	if r.Status == models.StatusPending && d.lateOutcome(asked, d.now()) {
		res.Then = d.notifyJobs(r, models.NoticeRejected, j.ID)
	}
	if p.Prev == nil {
		if p.Restore {
			reason = because(models.ReasonRestoreRefused, reason)
		}
		res.Update = func(x *models.Reservation) bool {
			if x.Status != models.StatusPending {
				return false
			}
			x.Status = models.StatusRejected
			x.SetReason(reason)
			x.Sequence++
			return true
		}
		res.Audit = &models.AuditEntry{Actor: "system", Action: "rejected", ReservationID: r.ID, Detail: cause.Error()}
		return res
	}
	prev := *p.Prev
	if p.Occurrence != "" {
		return d.refuseMoved(ctx, j, r, prev, p.PrevRelease, reason, res, cause)
	}
	jobs, err := d.store.Jobs(ctx, r.ID)
	if err != nil {
		// Without the answer the old slot could be lost (not re-booked) or booked twice:
		// decide on a later attempt.
		return d.retry(j, fmt.Errorf("refused (%v), but its earlier jobs could not be read: %w", cause, err))
	}
	held, drop := d.oldSlotOf(jobs, j, prev, p.PrevRelease)
	if drop != "" {
		res.Drop = map[string][]string{drop: {r.ID}}
	}
	// Sync may have imported the old booking meanwhile (the reservation no longer
	// carried its id): the copy gives the id back.
	res.AbsorbImported = true
	res.Update = func(x *models.Reservation) bool {
		if !stillMoving(*x, r, j) {
			return false
		}
		restoreRefused(x, prev, reason, !held)
		return true
	}
	if !held && r.Status == models.StatusPending {
		// Queued after whatever the user asked for meanwhile; a cancel that commits
		// between here and the record leaves it to be skipped (cancelled before sent).
		res.Then = append(res.Then, models.Job{ReservationID: r.ID, Kind: models.JobCreate, Backend: prev.Backend,
			Payload: encodePayload(jobPayload{Restore: true, Asked: asked})})
	}
	res.Audit = &models.AuditEntry{Actor: "system", Action: "reschedule_refused", ReservationID: r.ID, Detail: cause.Error()}
	return res
}

// stillMoving reports whether x, a reservation as stored now, is still the move create
// job j was sending when it read r: pending, at j's backend, holding nothing, at the
// same room and times. Nothing but a cancel changes a pending reservation (a reschedule
// waits until it is sent).
func stillMoving(x, r models.Reservation, j models.Job) bool {
	return r.Status == models.StatusPending && x.Status == models.StatusPending && x.Backend == j.Backend && x.Remote() == "" &&
		x.RoomID == r.RoomID && x.Start.Equal(r.Start) && x.End.Equal(r.End)
}

// oldSlotOf tells whether the old slot prev of a single booking moved by create job j is
// still held at its backend, by the job release that releases it, and the job to drop
// so that it stays held when the booking is put back (see oldSlotHeld). A job queued
// before its release was named has it found among jobs: the cancel of prev's booking
// queued with j.
func (d *Dispatcher) oldSlotOf(jobs []models.Job, j models.Job, prev snapshot, release string) (held bool, drop string) {
	if release != "" {
		return d.oldSlotHeld(jobs, release)
	}
	held = true
	for _, o := range jobs {
		if o.Kind != models.JobCancel || o.Backend != prev.Backend || o.RemoteID != prev.RemoteID {
			continue
		}
		switch {
		case o.Seq < j.Seq && o.State == models.JobDone && o.LastError != models.JobDroppedError:
			held = false // released first
		case o.Seq > j.Seq && o.State == models.JobPending && drop == "" && prev.RemoteID != "":
			// Released after. (A cancel without an id may be the user's: never dropped.)
			drop = o.ID
		}
	}
	return held, drop
}

// reasonOf is why backend b refused a write, as stored with the reservation: the user
// error's code and arguments when there is one, otherwise room taken or refused.
func reasonOf(b models.Backend, err error) models.Reason {
	if ue := models.UserError(err); ue != nil {
		return ue.Reason()
	}
	if errors.Is(err, models.ErrConflict) {
		return models.Reason{Code: models.CodeRoomTaken, Args: models.Args{models.ArgBackend: string(b)}}
	}
	return models.Reason{Code: models.ReasonBackendRefused, Args: models.Args{models.ArgBackend: string(b)}}
}

// rescheduleRefused is the reason of a booking put back after its reschedule was
// refused for why: the same arguments, with why's code as the cause.
func rescheduleRefused(why models.Reason) models.Reason {
	return because(models.ReasonRescheduleRefused, why)
}

// because is the reason code caused by why: why's arguments, with its code as the
// cause.
func because(code string, why models.Reason) models.Reason {
	args := models.Args{models.ArgCause: why.Code}
	for k, v := range why.Args {
		if k != models.ArgCause {
			args[k] = v
		}
	}
	return models.Reason{Code: code, Args: args}
}

func (d *Dispatcher) cancel(ctx context.Context, j models.Job, r models.Reservation, p jobPayload, now time.Time) (models.JobResult, string) {
	remote := j.RemoteID
	if remote == "" && r.Backend == j.Backend {
		remote = r.Remote()
	}
	if remote == "" {
		return models.JobResult{Job: j, State: models.JobDone, Error: "nothing booked at the backend"}, "skipped"
	}
	if err := d.routing.CheckWritable(j.Backend, now); err != nil {
		return models.JobResult{Job: j, State: models.JobFailed, Error: err.Error(),
			Audit: &models.AuditEntry{Actor: "system", Action: "release_frozen", ReservationID: r.ID, Detail: fmt.Sprintf("%s id %s not released: %v", j.Backend, remote, err)}}, "failed"
	}
	w, b, err := d.write(ctx, j, r, nil)
	if err == nil {
		w.RemoteID = remote
		w.Reason = "roombridge: 预订已取消或改期 / booking cancelled or moved"
		if p.Conflict != "" {
			w.Reason = conflictReason
		}
		cctx, cancel := context.WithTimeout(ctx, d.jobTimeout)
		err = b.Cancel(cctx, w)
		cancel()
		if err == nil {
			res := models.JobResult{Job: j, State: models.JobDone,
				Audit: &models.AuditEntry{Actor: "system", Action: "released", ReservationID: r.ID, Detail: fmt.Sprintf("%s id %s", j.Backend, remote)}}
			if p.Release {
				res.Then = d.notifyJobs(r, models.NoticeCancelled, j.ID)
				res.Update = func(x *models.Reservation) bool {
					if !x.Status.Holds() || x.Backend != j.Backend || x.Remote() != remote {
						return false
					}
					x.Status = models.StatusCancelled
					x.Sequence++
					return true
				}
			}
			return res, "released"
		}
	}
	if permanent(err) {
		return models.JobResult{Job: j, State: models.JobFailed, Error: err.Error(),
			Audit: &models.AuditEntry{Actor: "system", Action: "release_failed", ReservationID: r.ID, Detail: err.Error()}}, "failed"
	}
	return d.retry(j, err), "retry"
}

// conflictReason is what the backend shows the organizer of a booking cancelled to
// resolve a double booking (the backends' own UI shows it; it is not roombridge's UI).
const conflictReason = "roombridge: 会议室重复预订，管理员保留了另一预订 / the room was double-booked; an admin kept the other booking"

// afterJob records the outcome of a job on the conflict it resolves, if any.
func (d *Dispatcher) afterJob(ctx context.Context, j models.Job, res models.JobResult, outcome string) {
	var p jobPayload
	_ = json.Unmarshal([]byte(j.Payload), &p)
	if p.Conflict != "" {
		var err error
		switch outcome {
		case "rejected", "failed":
			code := "backend_refused"
			if res.State == models.JobFailed {
				code = "backend_gave_up"
			}
			err = d.store.FinishResolution(ctx, p.Conflict, models.OutcomeFailed, code, res.Error)
		case "retry":
			err = d.store.FinishResolution(ctx, p.Conflict, models.OutcomeRunning, "backend_retrying", res.Error)
		default:
			err = d.store.FinishResolution(ctx, p.Conflict, models.OutcomeRunning, "", "")
		}
		if err != nil {
			d.log.Warn("record resolution outcome", "conflict", p.Conflict, "job", j.ID, "err", err)
		}
	}
}
