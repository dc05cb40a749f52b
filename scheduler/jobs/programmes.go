package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// Programme is a recurring campaign an organizer set up, e.g. every Monday
// 19:00 a STEM item to youth. Each tick starts one campaign.
type Programme struct {
	Account   string    `json:"account"`
	Name      string    `json:"name"`
	Spec      string    `json:"spec"`
	Audience  string    `json:"audience"`
	Mode      string    `json:"mode"` // campaign.ModePersonalized or campaign.ModeItem
	ItemID    string    `json:"item_id,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Job is the programme's job name in the scheduler and the jobs API.
	Job string `json:"job"`
}

// Errors of the programme store.
var (
	ErrProgrammeExists   = errors.New("programme already exists")
	ErrProgrammeNotFound = errors.New("programme not found")
	ErrInvalidProgramme  = errors.New("invalid programme")
)

// Programme jobs fire their most recent missed tick within this grace:
// an evening programme an hour late still goes out (quiet hours hold it if
// need be).
const programmeGrace = time.Hour

var programmeNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

// ProgrammeJob names the job of a programme: "programme:<account>:<name>".
func ProgrammeJob(account, name string) string { return "programme:" + account + ":" + name }

// Programmes keeps recurring programmes in Redis. Every change moves a
// version counter, so each replica's scheduler reloads them on its next
// step, without a restart.
type Programmes struct {
	rdb       redis.UniversalClient
	campaigns Starter
	loc       *time.Location
}

// NewProgrammes returns the programme store; cs starts their campaigns, loc
// is the district's time zone in which specs are checked.
func NewProgrammes(rdb redis.UniversalClient, cs Starter, loc *time.Location) *Programmes {
	if loc == nil {
		loc = time.UTC
	}
	return &Programmes{rdb: rdb, campaigns: cs, loc: loc}
}

func programmeField(account, name string) string { return account + "/" + name }

// Validate checks a programme's fields (not its audience expression, which
// needs the taxonomy: the caller parses it).
func (p Programme) Validate(loc *time.Location) error {
	fields := []string{}
	if !profile.ValidAccount(p.Account) {
		fields = append(fields, fmt.Sprintf("account %q is invalid", p.Account))
	}
	if !programmeNameRE.MatchString(p.Name) {
		fields = append(fields, "name: use 1-40 of a-z, 0-9, _ and -")
	}
	if _, err := ParseSpec(p.Spec, loc); err != nil {
		fields = append(fields, "spec: "+err.Error())
	}
	switch p.Mode {
	case campaign.ModePersonalized:
		if p.ItemID != "" {
			fields = append(fields, "item_id: a personalized programme picks items itself")
		}
	case campaign.ModeItem:
		if p.ItemID == "" {
			fields = append(fields, "item_id: required unless mode is personalized")
		}
	default:
		fields = append(fields, fmt.Sprintf("mode %q: want personalized, or item with an item_id", p.Mode))
	}
	if len(fields) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidProgramme, strings.Join(fields, "; "))
	}
	return nil
}

// Save stores a new programme; a taken name is ErrProgrammeExists.
func (ps *Programmes) Save(ctx context.Context, p Programme) (Programme, error) {
	if p.Mode == "" && p.ItemID != "" {
		p.Mode = campaign.ModeItem
	}
	if err := p.Validate(ps.loc); err != nil {
		return Programme{}, err
	}
	p.Job = ProgrammeJob(p.Account, p.Name)
	b, err := json.Marshal(p)
	if err != nil {
		return Programme{}, fmt.Errorf("save programme %s: %w", p.Name, err)
	}
	var set *redis.BoolCmd
	_, err = ps.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		set = tx.HSetNX(ctx, programmesKey, programmeField(p.Account, p.Name), b)
		tx.Incr(ctx, versionKey)
		return nil
	})
	if err != nil {
		return Programme{}, fmt.Errorf("save programme %s: %w", p.Name, err)
	}
	if !set.Val() {
		return Programme{}, fmt.Errorf("save programme %s: %w", p.Name, ErrProgrammeExists)
	}
	return p, nil
}

// List returns an account's programmes by name.
func (ps *Programmes) List(ctx context.Context, account string) ([]Programme, error) {
	all, err := ps.all(ctx)
	if err != nil {
		return nil, err
	}
	out := []Programme{}
	for _, p := range all {
		if p.Account == account {
			out = append(out, p)
		}
	}
	return out, nil
}

func (ps *Programmes) all(ctx context.Context) ([]Programme, error) {
	m, err := ps.rdb.HGetAll(ctx, programmesKey).Result()
	if err != nil {
		return nil, fmt.Errorf("list programmes: %w", err)
	}
	out := make([]Programme, 0, len(m))
	for f, raw := range m {
		var p Programme
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, fmt.Errorf("list programmes: %s: %w", f, err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Job < out[j].Job })
	return out, nil
}

// Get returns one programme, or ErrProgrammeNotFound.
func (ps *Programmes) Get(ctx context.Context, account, name string) (Programme, error) {
	raw, err := ps.rdb.HGet(ctx, programmesKey, programmeField(account, name)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Programme{}, fmt.Errorf("programme %s: %w", name, ErrProgrammeNotFound)
	}
	if err != nil {
		return Programme{}, fmt.Errorf("get programme %s: %w", name, err)
	}
	var p Programme
	if err := json.Unmarshal(raw, &p); err != nil {
		return Programme{}, fmt.Errorf("get programme %s: %w", name, err)
	}
	return p, nil
}

// Delete removes a programme: no replica fires it after its next step.
// Campaigns it already started carry on.
func (ps *Programmes) Delete(ctx context.Context, account, name string) error {
	var del *redis.IntCmd
	_, err := ps.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		del = tx.HDel(ctx, programmesKey, programmeField(account, name))
		tx.HDel(ctx, manualKey, ProgrammeJob(account, name))
		tx.SRem(ctx, pausedKey, ProgrammeJob(account, name))
		tx.Incr(ctx, versionKey)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete programme %s: %w", name, err)
	}
	if del.Val() == 0 {
		return fmt.Errorf("delete programme %s: %w", name, ErrProgrammeNotFound)
	}
	return nil
}

// jobs returns every programme as a scheduler job.
func (ps *Programmes) jobs(ctx context.Context) ([]Job, error) {
	all, err := ps.all(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(all))
	for _, p := range all {
		out = append(out, Job{
			Name: p.Job, Account: p.Account, Spec: p.Spec, Policy: PolicyCatchUpLast, Grace: programmeGrace,
			Run: CampaignJob(ps.campaigns, p.Account, campaign.Draft{Name: p.Name, Audience: p.Audience,
				Mode: p.Mode, ItemID: p.ItemID, CreatedBy: p.CreatedBy}),
		})
	}
	return out, nil
}
