package quiz

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/zengcheng-kexie/kepubot/bot"
)

// topN is how many of the town's best 排行 shows.
const topN = 10

// rank handles 排行: the participant's standing in the competition they
// are taking (or the current one for them) and their town's top 10,
// named only by town, group and rank — never by openid.
func (q *Quiz) rank(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	acct, p := req.Msg.Account, req.Profile
	if ok, err := q.store.allowRank(ctx, acct, p.OpenID, req.Now, q.rate); err != nil || !ok {
		return bot.Text(txtTooFast), err
	}
	var c *compiled
	if st, ok := current(req); ok {
		var err error
		if c, err = q.lib.competition(ctx, acct, st.C); err != nil {
			return bot.Reply{}, err
		}
	} else {
		var msg string
		var err error
		if c, msg, err = q.find(ctx, req, ""); err != nil || c == nil {
			return bot.Text(msg), err
		}
	}
	lines := []string{fmt.Sprintf(txtRankTitle, c.Title)}
	st, town, err := q.store.standing(ctx, acct, c.ID, p.OpenID)
	if err != nil {
		return bot.Reply{}, err
	}
	if st.Rank > 0 {
		lines = append(lines, fmt.Sprintf(txtRankMine, st.Correct, duration(st.Millis), st.Rank, q.townName(town), st.TownRank))
	} else {
		lines = append(lines, txtRankNone)
		town = p.Town
	}
	if town == "" {
		lines = append(lines, txtRankNoTown)
		return bot.Text(strings.Join(lines, "\n")), nil
	}
	top, err := q.store.Leaderboard(ctx, acct, c.ID, Board{Town: town}, topN)
	if err != nil {
		return bot.Reply{}, err
	}
	lines = append(lines, "", fmt.Sprintf(txtRankTop, q.townName(town), topN))
	if len(top) == 0 {
		lines = append(lines, txtRankEmpty)
	}
	for _, e := range top {
		name := q.townName(e.Town)
		if g := q.groupName(e.Group); g != "" {
			name += " " + g
		}
		you := ""
		if e.OpenID == p.OpenID {
			you = " ←您"
		}
		lines = append(lines, name+" #"+strconv.Itoa(e.Rank)+" · 答对"+strconv.Itoa(e.Score)+"题 "+
			duration(int64(e.Seconds*1000))+you)
	}
	return bot.Text(strings.Join(lines, "\n")), nil
}
