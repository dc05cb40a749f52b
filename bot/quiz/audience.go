package quiz

import (
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// Matches reports whether p belongs to the segment prog (a compiled
// segment expression, segment.Expr.Compile), evaluated in memory on the
// one profile instead of over Redis bitmaps: the check a subscriber passes
// to join a competition. loc is the district's time zone for active:Nd
// terms; a profile knows only its last active day, which for someone
// writing to the bot is today. Unknown indexes and malformed programs
// match nobody.
func Matches(prog profile.Program, p *profile.Profile, loc *time.Location) bool {
	if len(prog) == 0 {
		return true
	}
	if p == nil {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	stack := make([]bool, 0, 8)
	for _, tok := range prog {
		switch {
		case strings.HasPrefix(tok, "k:"):
			stack = append(stack, inIndex(tok[2:], p, loc))
		case tok == "!":
			if len(stack) == 0 {
				return false
			}
			stack[len(stack)-1] = !stack[len(stack)-1]
		case strings.HasPrefix(tok, "&"), strings.HasPrefix(tok, "|"):
			n, err := strconv.Atoi(tok[1:])
			if err != nil || n < 1 || n > len(stack) {
				return false
			}
			and := tok[0] == '&'
			v := and
			for _, x := range stack[len(stack)-n:] {
				if and {
					v = v && x
				} else {
					v = v || x
				}
			}
			stack = append(stack[:len(stack)-n], v)
		default:
			return false
		}
	}
	return len(stack) == 1 && stack[0]
}

// inIndex reports whether p is in the named segment bitmap.
func inIndex(index string, p *profile.Profile, loc *time.Location) bool {
	switch index {
	case profile.IndexAll:
		return true
	case profile.IndexSubscribed:
		return p.Subscribed
	case profile.IndexOptedOut:
		return p.OptedOut
	case profile.IndexReachable:
		return p.Reachable()
	}
	kind, v, ok := strings.Cut(index, ":")
	if !ok {
		return false
	}
	switch kind {
	case "g":
		return p.Group == v
	case "t":
		return p.Town == v
	case "i":
		return p.HasInterest(v)
	case "src":
		return p.Source == v
	case "act":
		return !p.LastActiveAt.IsZero() && p.LastActiveAt.In(loc).Format("20060102") == v
	}
	return false
}
