package plan

import (
	"strings"
	"testing"
	"time"
)

func TestParseQuietHours(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr string // substring of the error
	}{
		{"21:30-07:30", "21:30-07:30", ""},
		{"22:00-06:00", "22:00-06:00", ""},
		{" 7:00 - 9:15 ", "07:00-09:15", ""},
		{"22:00-24:00", "22:00-00:00", ""},
		{"off", "off", ""},
		{"OFF", "off", ""},
		{"", "", "want HH:MM-HH:MM"},
		{"21:30", "", "want HH:MM-HH:MM"},
		{"21:30-07:60", "", "minute 60"},
		{"25:00-07:00", "", "hour 25"},
		{"24:00-07:00", "", "hour 24"},
		{"21-07", "", "is not HH:MM"},
		{"21:3-07:30", "", "is not HH:MM"},
		{"aa:bb-07:30", "", "start"},
		{"21:30-07:30-08:00", "", "end"},
		{"08:00-08:00", "", "equal"},
	}
	for _, tt := range tests {
		got, err := ParseQuietHours(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseQuietHours(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("ParseQuietHours(%q) error %v, want %s", tt.in, err, tt.want)
		case got.String() != tt.want:
			t.Errorf("ParseQuietHours(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := DefaultQuietHours().String(); got != "21:30-07:30" {
		t.Errorf("DefaultQuietHours() = %s, want 21:30-07:30", got)
	}
}

func TestQuietHours(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	day := func(d, h, m, s int) time.Time { return time.Date(2026, 3, d, h, m, s, 0, loc) }
	night, _ := ParseQuietHours("21:30-07:30")
	early, _ := ParseQuietHours("22:00-06:00")
	lunch, _ := ParseQuietHours("12:00-14:00")
	off, _ := ParseQuietHours("off")
	tests := []struct {
		name     string
		q        QuietHours
		t        time.Time
		contains bool
		open     time.Time
	}{
		{"evening before start", night, day(10, 21, 29, 59), false, day(10, 21, 29, 59)},
		{"at start", night, day(10, 21, 30, 0), true, day(11, 7, 30, 0)},
		{"before midnight", night, day(10, 23, 59, 59), true, day(11, 7, 30, 0)},
		{"at midnight", night, day(11, 0, 0, 0), true, day(11, 7, 30, 0)},
		{"just before end", night, day(11, 7, 29, 59), true, day(11, 7, 30, 0)},
		{"at end", night, day(11, 7, 30, 0), false, day(11, 7, 30, 0)},
		{"noon", night, day(11, 12, 0, 0), false, day(11, 12, 0, 0)},
		{"month end crosses into next month", night, time.Date(2026, 3, 31, 22, 0, 0, 0, loc), true, time.Date(2026, 4, 1, 7, 30, 0, 0, loc)},
		{"22-06 at 21:59", early, day(10, 21, 59, 0), false, day(10, 21, 59, 0)},
		{"22-06 at 05:00", early, day(11, 5, 0, 0), true, day(11, 6, 0, 0)},
		{"same-day range inside", lunch, day(10, 13, 0, 0), true, day(10, 14, 0, 0)},
		{"same-day range after", lunch, day(10, 14, 0, 0), false, day(10, 14, 0, 0)},
		{"off never quiet", off, day(11, 3, 0, 0), false, day(11, 3, 0, 0)},
		{"zero value is off", QuietHours{}, day(11, 3, 0, 0), false, day(11, 3, 0, 0)},
		// 15:00 UTC is 23:00 in Shanghai.
		{"UTC instant read in district time", night, time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), true, day(11, 7, 30, 0)},
	}
	for _, tt := range tests {
		if got := tt.q.Contains(tt.t, loc); got != tt.contains {
			t.Errorf("%s: (%s).Contains(%v) = %v, want %v", tt.name, tt.q, tt.t, got, tt.contains)
		}
		if got := tt.q.NextOpen(tt.t, loc); !got.Equal(tt.open) {
			t.Errorf("%s: (%s).NextOpen(%v) = %v, want %v", tt.name, tt.q, tt.t, got, tt.open)
		}
	}
}

func FuzzParseQuietHours(f *testing.F) {
	for _, s := range []string{"21:30-07:30", "off", "22:00-24:00", "1:2-3:4", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuietHours(s)
		if err != nil {
			return
		}
		r, err := ParseQuietHours(q.String())
		if err != nil || r != q {
			t.Errorf("ParseQuietHours(%q) = %s, which reparses to %v, %v", s, q, r, err)
		}
	})
}
