package segment

import (
	"context"
	"fmt"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// Counter sizes a program over an account's subscribers;
// *profile.Store implements it.
type Counter interface {
	Count(ctx context.Context, account string, prog profile.Program, rows, cols []string) (profile.Counts, error)
}

// Breakdown is what an organizer sees before sending: how many will
// receive it, by town and by group, and optionally by town × group. Every
// town and group of the taxonomy is present, with 0 where nobody matches;
// subscribers without a town or group count only in Count.
type Breakdown struct {
	Count       int64                       `json:"count"`
	ByTown      map[string]int64            `json:"by_town"`
	ByGroup     map[string]int64            `json:"by_group"`
	ByTownGroup map[string]map[string]int64 `json:"by_town_group,omitempty"`
}

// Preview counts Audience(prog), the reachable subscribers prog selects,
// in one evaluation per shard. cross adds the town × group table.
func Preview(ctx context.Context, c Counter, account string, prog profile.Program, tax *taxonomy.Taxonomy, cross bool) (Breakdown, error) {
	towns := make([]string, len(tax.Towns))
	for i, t := range tax.Towns {
		towns[i] = profile.TownIndex(t.ID)
	}
	groups := make([]string, len(tax.Groups))
	for i, g := range tax.Groups {
		groups[i] = profile.GroupIndex(g.ID)
	}
	// Rows are towns then groups; with cross, columns are groups (the
	// group × group cells are computed and ignored: cheaper than a second
	// evaluation of the segment, and the counts come from one snapshot).
	rows := append(append([]string{}, towns...), groups...)
	var cols []string
	if cross {
		cols = groups
	}
	counts, err := c.Count(ctx, account, Audience(prog), rows, cols)
	if err != nil {
		return Breakdown{}, fmt.Errorf("preview segment: %w", err)
	}
	out := Breakdown{
		Count:   counts.Total,
		ByTown:  make(map[string]int64, len(towns)),
		ByGroup: make(map[string]int64, len(groups)),
	}
	for i, t := range tax.Towns {
		out.ByTown[t.ID] = counts.Rows[towns[i]]
	}
	for i, g := range tax.Groups {
		out.ByGroup[g.ID] = counts.Rows[groups[i]]
	}
	if cross {
		out.ByTownGroup = make(map[string]map[string]int64, len(towns))
		for i, t := range tax.Towns {
			row := make(map[string]int64, len(groups))
			for j, g := range tax.Groups {
				row[g.ID] = counts.Cells[towns[i]][groups[j]]
			}
			out.ByTownGroup[t.ID] = row
		}
	}
	return out, nil
}
