package plan

import (
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatalf("load Asia/Shanghai: %v", err)
	}
	return loc
}

func TestChoose(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, loc)
	month := MonthNumber(now, loc)
	service := Rules{AccountType: ServiceAccount, TemplateConfigured: true, Loc: loc}
	serviceNoTmpl := Rules{AccountType: ServiceAccount, Loc: loc}
	subscription := Rules{AccountType: SubscriptionAccount, TemplateConfigured: true, Loc: loc}

	// sub returns a subscribed profile with no window open and an unused
	// mass budget, changed by f.
	sub := func(f func(p *profile.Profile)) *profile.Profile {
		p := &profile.Profile{Subscribed: true}
		if f != nil {
			f(p)
		}
		return p
	}
	msgAt := func(ago time.Duration, used uint8) func(*profile.Profile) {
		return func(p *profile.Profile) { p.LastMessageAt, p.MessagesUsed = now.Add(-ago), used }
	}
	evAt := func(ago time.Duration, used uint8) func(*profile.Profile) {
		return func(p *profile.Profile) { p.LastEventAt, p.EventMsgsUsed = now.Add(-ago), used }
	}
	mass := func(m uint16, n uint8) func(*profile.Profile) {
		return func(p *profile.Profile) { p.MassMonth, p.MassCount = m, n }
	}
	custom := func(w Window) Decision {
		if w == WindowEvent {
			return Decision{Channel: ChannelCustom, Reason: ReasonEventWindow, Window: WindowEvent}
		}
		return Decision{Channel: ChannelCustom, Reason: ReasonMessageWindow, Window: WindowMessage}
	}
	massOK := Decision{Channel: ChannelMass, Reason: ReasonMassBudget}
	none := func(r Reason) Decision { return Decision{Reason: r} }

	tests := []struct {
		name string
		p    *profile.Profile
		kind Kind
		r    Rules
		opt  Options
		want Decision
	}{
		{"nil profile", nil, KindContent, service, Options{}, none(ReasonUnsubscribed)},
		{"unsubscribed", &profile.Profile{LastMessageAt: now}, KindContent, service, Options{}, none(ReasonUnsubscribed)},
		{"opted out even with window", sub(func(p *profile.Profile) { p.OptedOut = true; p.LastMessageAt = now }), KindNotice, service, Options{HasSubscribeOptIn: true}, none(ReasonOptedOut)},

		{"message window just opened", sub(msgAt(0, 0)), KindContent, service, Options{}, custom(WindowMessage)},
		{"message window 1ns before 48h", sub(msgAt(48*time.Hour-1, 0)), KindContent, service, Options{}, custom(WindowMessage)},
		{"message window at 48h is closed", sub(msgAt(48*time.Hour, 0)), KindContent, service, Options{}, massOK},
		{"message window 4 used", sub(msgAt(time.Hour, 4)), KindContent, service, Options{}, custom(WindowMessage)},
		{"message window 5 used", sub(msgAt(time.Hour, 5)), KindContent, service, Options{}, massOK},
		{"message from slightly in the future", sub(msgAt(-2*time.Second, 0)), KindContent, service, Options{}, custom(WindowMessage)},

		{"event window open", sub(evAt(59*time.Second, 0)), KindContent, service, Options{}, custom(WindowEvent)},
		{"event window at 1 min is closed", sub(evAt(time.Minute, 0)), KindContent, service, Options{}, massOK},
		{"event window 2 used", sub(evAt(10*time.Second, 2)), KindContent, service, Options{}, custom(WindowEvent)},
		{"event window 3 used", sub(evAt(10*time.Second, 3)), KindContent, service, Options{}, massOK},
		{"message window preferred over event window", sub(func(p *profile.Profile) { msgAt(time.Hour, 1)(p); evAt(time.Second, 0)(p) }), KindContent, service, Options{}, custom(WindowMessage)},
		{"event window when message quota used", sub(func(p *profile.Profile) { msgAt(time.Hour, 5)(p); evAt(time.Second, 0)(p) }), KindContent, service, Options{}, custom(WindowEvent)},

		{"notice: template", sub(nil), KindNotice, service, Options{}, Decision{Channel: ChannelTemplate, Reason: ReasonTemplate}},
		{"notice: window beats template", sub(msgAt(time.Hour, 0)), KindNotice, service, Options{}, custom(WindowMessage)},
		{"notice: subscribe without template", sub(nil), KindNotice, serviceNoTmpl, Options{HasSubscribeOptIn: true}, Decision{Channel: ChannelSubscribe, Reason: ReasonSubscribeOptIn}},
		{"notice: template beats subscribe", sub(nil), KindNotice, service, Options{HasSubscribeOptIn: true}, Decision{Channel: ChannelTemplate, Reason: ReasonTemplate}},
		{"notice: neither configured, mass", sub(nil), KindNotice, serviceNoTmpl, Options{}, massOK},
		{"notice: subscription account has no template", sub(nil), KindNotice, subscription, Options{}, Decision{Channel: ChannelMass, Reason: ReasonDailyMass}},
		{"content never template", sub(nil), KindContent, service, Options{HasSubscribeOptIn: true}, massOK},

		{"mass: 3 used this month", sub(mass(month, 3)), KindContent, service, Options{}, massOK},
		{"mass: 4 used this month", sub(mass(month, 4)), KindContent, service, Options{}, none(ReasonMassBudgetUsed)},
		{"mass: 4 used last month", sub(mass(month-1, 4)), KindContent, service, Options{}, massOK},
		{"mass: budget used, notice still gets template", sub(mass(month, 4)), KindNotice, service, Options{}, Decision{Channel: ChannelTemplate, Reason: ReasonTemplate}},
		{"subscription: always batched mass", sub(mass(month, 30)), KindContent, subscription, Options{}, Decision{Channel: ChannelMass, Reason: ReasonDailyMass}},
		{"direct only, no window", sub(nil), KindContent, service, Options{DirectOnly: true}, none(ReasonWindowClosed)},
		{"direct only, window", sub(evAt(0, 0)), KindContent, service, Options{DirectOnly: true}, custom(WindowEvent)},
		{"account type unset", sub(nil), KindContent, Rules{Loc: loc}, Options{}, none(ReasonAccountUnset)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Choose(tt.p, tt.kind, tt.r, tt.opt, now)
			if got != tt.want {
				t.Errorf("Choose() = %+v (%s, %s), want %+v (%s, %s)", got, got.Channel, got.Reason, tt.want, tt.want.Channel, tt.want.Reason)
			}
		})
	}
}

// TestMassBudgetMonthRollover spends a service account's budget at the end
// of March in Shanghai, which is still March in UTC for 8 hours after the
// district's April began.
func TestMassBudgetMonthRollover(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	r := Rules{AccountType: ServiceAccount, Loc: loc}
	march := time.Date(2026, 3, 31, 20, 0, 0, 0, loc)
	p := &profile.Profile{Subscribed: true, MassMonth: MonthNumber(march, loc) - 1, MassCount: 4}
	for i := range MassPerMonth {
		if got := Choose(p, KindContent, r, Options{}, march); got.Channel != ChannelMass {
			t.Fatalf("send %d: Choose() = %v/%v, want mass", i+1, got.Channel, got.Reason)
		}
		Spend(p, ChannelMass, march, loc)
	}
	if p.MassCount != 4 || p.MassMonth != MonthNumber(march, loc) {
		t.Fatalf("after 4 sends MassMonth, MassCount = %d, %d, want %d, 4", p.MassMonth, p.MassCount, MonthNumber(march, loc))
	}
	if got := Choose(p, KindContent, r, Options{}, march); got.Reason != ReasonMassBudgetUsed {
		t.Errorf("5th send in March: Choose() = %v/%v, want none/mass_budget_used", got.Channel, got.Reason)
	}
	// 2026-04-01 00:30 in Shanghai is 2026-03-31 16:30 UTC.
	april := time.Date(2026, 4, 1, 0, 30, 0, 0, loc).UTC()
	if april.Month() != time.March {
		t.Fatalf("test setup: %v should still be March in UTC", april)
	}
	if got := Choose(p, KindContent, r, Options{}, april); got.Channel != ChannelMass {
		t.Errorf("April in Shanghai (March in UTC): Choose() = %v/%v, want mass", got.Channel, got.Reason)
	}
	Spend(p, ChannelMass, april, loc)
	if got, want := p.MassMonth, MonthNumber(march, loc)+1; got != want || p.MassCount != 1 {
		t.Errorf("after April send MassMonth, MassCount = %d, %d, want %d, 1", got, p.MassCount, want)
	}
	// The same instant read in UTC is still March: the budget stays used.
	q := &profile.Profile{Subscribed: true, MassMonth: MonthNumber(march, time.UTC), MassCount: 4}
	if got := Choose(q, KindContent, Rules{AccountType: ServiceAccount, Loc: time.UTC}, Options{}, april); got.Reason != ReasonMassBudgetUsed {
		t.Errorf("same instant in UTC: Choose() = %v/%v, want mass_budget_used", got.Channel, got.Reason)
	}
}

func TestSpend(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, loc)
	tests := []struct {
		name string
		p    profile.Profile
		ch   Channel
		want profile.Profile
	}{
		{"custom in message window", profile.Profile{LastMessageAt: now.Add(-time.Hour), MessagesUsed: 2},
			ChannelCustom, profile.Profile{LastMessageAt: now.Add(-time.Hour), MessagesUsed: 3}},
		{"custom in event window", profile.Profile{LastEventAt: now.Add(-time.Second), EventMsgsUsed: 1},
			ChannelCustom, profile.Profile{LastEventAt: now.Add(-time.Second), EventMsgsUsed: 2}},
		{"custom: message quota used, event window", profile.Profile{LastMessageAt: now.Add(-time.Hour), MessagesUsed: 5, LastEventAt: now},
			ChannelCustom, profile.Profile{LastMessageAt: now.Add(-time.Hour), MessagesUsed: 5, LastEventAt: now, EventMsgsUsed: 1}},
		{"custom with no window spends nothing", profile.Profile{LastMessageAt: now.Add(-49 * time.Hour), MessagesUsed: 1},
			ChannelCustom, profile.Profile{LastMessageAt: now.Add(-49 * time.Hour), MessagesUsed: 1}},
		{"mass same month", profile.Profile{MassMonth: MonthNumber(now, loc), MassCount: 2},
			ChannelMass, profile.Profile{MassMonth: MonthNumber(now, loc), MassCount: 3}},
		{"mass new month resets", profile.Profile{MassMonth: MonthNumber(now, loc) - 1, MassCount: 4},
			ChannelMass, profile.Profile{MassMonth: MonthNumber(now, loc), MassCount: 1}},
		{"mass saturates", profile.Profile{MassMonth: MonthNumber(now, loc), MassCount: 255},
			ChannelMass, profile.Profile{MassMonth: MonthNumber(now, loc), MassCount: 255}},
		{"template spends nothing", profile.Profile{MassCount: 1}, ChannelTemplate, profile.Profile{MassCount: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.p
			Spend(&got, tt.ch, now, loc)
			if got.MessagesUsed != tt.want.MessagesUsed || got.EventMsgsUsed != tt.want.EventMsgsUsed ||
				got.MassMonth != tt.want.MassMonth || got.MassCount != tt.want.MassCount {
				t.Errorf("Spend(%s) counters = msg %d, event %d, mass %d/%d; want msg %d, event %d, mass %d/%d", tt.ch,
					got.MessagesUsed, got.EventMsgsUsed, got.MassMonth, got.MassCount,
					tt.want.MessagesUsed, tt.want.EventMsgsUsed, tt.want.MassMonth, tt.want.MassCount)
			}
		})
	}
}

func TestSpendUsesUpWindow(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, loc)
	r := Rules{AccountType: ServiceAccount, Loc: loc}
	p := &profile.Profile{Subscribed: true}
	p.TouchMessage(now.Add(-time.Hour))
	p.TouchEvent(now.Add(-10 * time.Second))
	var got []Window
	for range 10 {
		d := Choose(p, KindContent, r, Options{}, now)
		if d.Channel != ChannelCustom {
			break
		}
		got = append(got, d.Window)
		Spend(p, d.Channel, now, loc)
	}
	want := []Window{WindowMessage, WindowMessage, WindowMessage, WindowMessage, WindowMessage, WindowEvent, WindowEvent, WindowEvent}
	if len(got) != len(want) {
		t.Fatalf("windows used = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("windows used = %v, want %v", got, want)
		}
	}
}

func TestMonthNumber(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	tests := []struct {
		t    time.Time
		loc  *time.Location
		want uint16
	}{
		{time.Date(2000, 1, 1, 0, 0, 0, 0, loc), loc, 0},
		{time.Date(2000, 12, 31, 23, 59, 0, 0, loc), loc, 11},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, loc), loc, 314},
		{time.Date(2026, 2, 28, 16, 0, 0, 0, time.UTC), loc, 314}, // 2026-03-01 00:00 in Shanghai
		{time.Date(2026, 2, 28, 16, 0, 0, 0, time.UTC), time.UTC, 313},
		{time.Date(2026, 2, 28, 16, 0, 0, 0, time.UTC), nil, 313},
		{time.Date(1999, 12, 31, 0, 0, 0, 0, loc), loc, 0},
	}
	for _, tt := range tests {
		if got := MonthNumber(tt.t, tt.loc); got != tt.want {
			t.Errorf("MonthNumber(%v, %v) = %d, want %d", tt.t, tt.loc, got, tt.want)
		}
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	for r := ReasonUnknown; r <= ReasonAccountUnset; r++ {
		if s := r.String(); s == "" || (r != ReasonUnknown && s == "unknown") {
			t.Errorf("Reason(%d).String() = %q, want a name", r, s)
		}
	}
	if got := Reason(200).String(); got != "unknown" {
		t.Errorf("Reason(200).String() = %q, want unknown", got)
	}
	if got := ChannelMass.String(); got != "mass" {
		t.Errorf("ChannelMass.String() = %q, want mass", got)
	}
	for _, s := range []string{"service", "subscription"} {
		a, err := ParseAccountType(s)
		if err != nil || a.String() != s {
			t.Errorf("ParseAccountType(%q) = %v, %v, want %s", s, a, err, s)
		}
	}
	if _, err := ParseAccountType("服务号"); err == nil {
		t.Errorf("ParseAccountType(服务号) = nil error, want an error")
	}
	if err := (Rules{AccountType: ServiceAccount}).Validate(); err == nil {
		t.Errorf("Rules without Loc: Validate() = nil, want an error")
	}
}
