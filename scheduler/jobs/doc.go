// Package jobs is kepubot's scheduler: cron jobs declared in config (the
// daily tip, the weekly digest, farming-calendar advice by solar term, feed
// imports, WeChat tag sync, statistics, retention) and recurring campaign
// programmes created through the admin API, fired exactly once per tick
// across every replica.
//
// # Ticks, not timers
//
// robfig/cron parses the specs (in the district's time zone, never the
// process's) but its timer loop is not the authority: each replica's
// Scheduler.Step(ctx, now) asks every job's schedule for the latest tick in
// (last tick handled, now], and Run calls Step every second on the real
// clock. Tests call Step with simulated times instead of sleeping.
//
// # Exactly once across replicas
//
// All replicas compute the same ticks. For each (job, tick) a replica runs
// one Lua script that checks the tick is after kb:{jobs}:last:<job>, takes
// the lease kb:{jobs}:lease:<job>:<unix> (SET NX semantics, PX LeaseTTL) and
// INCRs the job's fencing token. Only the taker runs the tick; it renews
// the lease while running, and on completion one more script advances
// last:<job> (only forward), releases the lease and writes the status hash
// — unless a newer token already wrote it, so a holder that stalled, lost
// its lease and woke up later cannot overwrite the truth.
//
// A lease alone is not enough (asynq #371: several schedulers enqueue the
// same periodic task): a stalled holder may still act after another replica
// took the tick over. So a run's effects are keyed by the tick
// (Tick.Key, "<job>@<RFC 3339 time>"): Campaigns.Start maps the key to one
// campaign (SETNX after creating a draft; the loser's draft is cancelled),
// and the campaign engine's start job is enqueued once per campaign. Two
// runs of a tick therefore start one campaign, which sends once.
//
// A replica that dies mid-run leaves its lease to expire: the tick runs
// again elsewhere if it is still due under its policy, otherwise the next
// tick (a new lease key) fires normally.
//
// # Missed ticks
//
// A tick noticed within Options.Tolerance of its time is on time. After
// downtime only the latest due tick is considered, never a backlog: under
// PolicySkip it is dropped unless on time; under PolicyCatchUpLast it
// fires if no older than the job's Grace. Dropped ticks advance last:<job>
// and are counted in the status. A paused job's ticks are dropped too.
//
// # The jobs
//
// A job works for one WeChat account (Job.Account) or the whole
// deployment. cmd/kepubot declares each calendar job once per account
// (AccountJob: daily-tip:<account>), so every account has its own ticks,
// pause switch and history; StatusesOf and Lookup show and find an
// account's jobs only, and Add declares an added account's jobs while
// running.
//
// Campaign jobs (DailyTip, CampaignJob, FarmingCalendar, programmes)
// create campaign.Campaign values and start them through the campaign
// engine. TagSync mirrors saved segments into WeChat user tags within
// WeChat's limits. FeedImport pulls the configured feeds into the library.
//
// Redis keys are listed in keys.go, with the scripts' KEYS and ARGV.
package jobs
