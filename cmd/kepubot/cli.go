package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"
)

// parseInterspersed parses fs's flags wherever they stand among args
// (`campaign show 3 --server URL` as well as `--server URL campaign show
// 3`) and returns the other arguments in order. After "--" everything is
// an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		left := fs.Args()
		if consumed := args[:len(args)-len(left)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(rest, left...), nil
		}
		if len(left) == 0 {
			return rest, nil
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

// sendAtLayouts are the times --send-at accepts, besides RFC 3339; they
// are read in the district's time zone.
var sendAtLayouts = []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"}

// parseSendAt reads a start time given on the command line: RFC 3339, or
// a date and time in the district's zone.
func parseSendAt(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range sendAtLayouts {
		if t, err := time.ParseInLocation(l, strings.TrimSpace(s), loc); err == nil {
			return t, nil
		}
	}
	example := time.Now().In(loc).Add(24 * time.Hour)
	return time.Time{}, fmt.Errorf("--send-at %q is not a time: give a date and time in %s like %q, or RFC 3339 like %q",
		s, loc, example.Format("2006-01-02")+" 08:00", example.Format("2006-01-02")+"T08:00:00"+example.Format("Z07:00"))
}

// unreachable explains a failed connection to a kepubot server in plain
// words; other errors pass through.
func unreachable(err error, base string) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("the kepubot server is not reachable at %s: is it running? Start it with `make run` (or `kepubot serve`), "+
			"or point --server (or KEPUBOT_HTTP_ADDR) at a running one", base)
	}
	return err
}

// localTimes rewrites every RFC 3339 time in a decoded JSON value into
// loc, so a command's output shows the district's clock throughout.
func localTimes(v any, loc *time.Location) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = localTimes(e, loc)
		}
	case []any:
		for i, e := range x {
			x[i] = localTimes(e, loc)
		}
	case string:
		if len(x) >= 20 && x[4] == '-' && x[10] == 'T' {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				if t.IsZero() {
					return x
				}
				return t.In(loc).Format(time.RFC3339)
			}
		}
	}
	return v
}
