package plan

import (
	"errors"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// WeChat's customer-service windows and mass-send budget (shared/WECHAT.md).
const (
	// MessageWindow is how long a message from the user keeps the
	// customer-service window open.
	MessageWindow = 48 * time.Hour
	// MessageQuota is how many customer-service messages that window allows.
	MessageQuota = 5
	// EventWindow is how long a follow, menu click or QR scan keeps the
	// customer-service window open.
	EventWindow = time.Minute
	// EventQuota is how many customer-service messages that window allows.
	EventQuota = 3
	// MassPerMonth is how many mass messages a service account's subscriber
	// receives in a calendar month; WeChat silently filters further ones.
	MassPerMonth = 4
)

// Channel is the WeChat API a message goes out through.
type Channel uint8

// Channels, cheapest first. The zero value is ChannelNone.
const (
	ChannelNone      Channel = iota // nothing WeChat would accept now
	ChannelCustom                   // customer-service message (message/custom/send)
	ChannelTemplate                 // template message (message/template/send)
	ChannelSubscribe                // subscribe notification (message/subscribe/bizsend)
	ChannelMass                     // mass send (message/mass/send by openid list, or by tag)
)

var channelNames = [...]string{"none", "custom", "template", "subscribe", "mass"}

// String returns the channel's stable name, used in reports and metrics.
func (c Channel) String() string {
	if int(c) < len(channelNames) {
		return channelNames[c]
	}
	return "unknown"
}

// Kind is what a message is, which decides the channels it may use.
type Kind uint8

// Message kinds. The zero value is KindContent, the more restricted one.
const (
	// KindContent is a science item: marketing-like in WeChat's eyes, so it
	// may not go out as a template message or subscribe notification.
	KindContent Kind = iota
	// KindNotice is a service notice such as an event reminder: it may use a
	// template message or a subscribe notification where configured.
	KindNotice
)

// AccountType is the kind of Official Account kepubot runs as.
type AccountType uint8

// Account types. The zero value is unset, so a missing configuration is
// caught instead of silently planning for the wrong limits.
const (
	AccountUnset AccountType = iota
	// ServiceAccount (服务号): template messages, mass send by openid list,
	// each subscriber receiving at most MassPerMonth mass messages a month.
	ServiceAccount
	// SubscriptionAccount (订阅号): one mass send a day for the whole account
	// (by tag or to all: sending by openid list is a service-account API).
	SubscriptionAccount
)

// String returns "service", "subscription" or "unset".
func (a AccountType) String() string {
	switch a {
	case ServiceAccount:
		return "service"
	case SubscriptionAccount:
		return "subscription"
	}
	return "unset"
}

// ParseAccountType parses "service" or "subscription", as written in the
// configuration.
func ParseAccountType(s string) (AccountType, error) {
	switch s {
	case "service":
		return ServiceAccount, nil
	case "subscription":
		return SubscriptionAccount, nil
	}
	return AccountUnset, errors.New(`account type must be "service" or "subscription", got "` + s + `"`)
}

// Rules are the account-wide facts the channel planner needs.
type Rules struct {
	AccountType AccountType
	// TemplateConfigured says a template for service notices is set up. Only
	// a service account can send template messages.
	TemplateConfigured bool
	// Loc is the district's time zone: it decides calendar months for the
	// mass budget.
	Loc *time.Location
}

// Validate reports a configuration the planner cannot work with.
func (r Rules) Validate() error {
	if r.AccountType != ServiceAccount && r.AccountType != SubscriptionAccount {
		return errors.New("plan rules: account type is not set")
	}
	if r.Loc == nil {
		return errors.New("plan rules: time zone is not set")
	}
	return nil
}

// Options are per-subscriber facts the Profile does not hold.
type Options struct {
	// HasSubscribeOptIn says the subscriber accepted a subscribe-notification
	// popup whose permission is unused (one-time) or long-term.
	HasSubscribeOptIn bool
	// DirectOnly rules out a mass send: only a customer-service message, a
	// template or a subscribe notification will do (for example a follow-up
	// re-planned after WeChat answered 45015). Unreachable subscribers then
	// get ReasonWindowClosed.
	DirectOnly bool
}

// Window is the customer-service window a ChannelCustom decision uses: it
// says which counter a successful send spends.
type Window uint8

// Customer-service windows.
const (
	WindowNone    Window = iota
	WindowMessage        // opened by a message from the user: 48 h, 5 messages
	WindowEvent          // opened by a follow, menu click or QR scan: 1 min, 3 messages
)

// Reason says why a channel was chosen, or why none was.
type Reason uint8

// Reasons. The first six come with a channel, the rest with ChannelNone.
const (
	ReasonUnknown        Reason = iota
	ReasonMessageWindow         // customer-service window after a user message is open, quota left
	ReasonEventWindow           // customer-service window after a follow, click or scan is open, quota left
	ReasonTemplate              // service notice, template configured
	ReasonSubscribeOptIn        // service notice, the subscriber opted in to subscribe notifications
	ReasonMassBudget            // service account: mass budget left this month
	ReasonDailyMass             // subscription account: goes into the account's one mass send of the day, batched by the sender
	ReasonUnsubscribed          // does not follow the account
	ReasonOptedOut              // said 退订
	ReasonMassBudgetUsed        // no window, and this month's 4 mass messages are used
	ReasonWindowClosed          // no window, and a mass send is ruled out (Options.DirectOnly)
	ReasonAccountUnset          // Rules.AccountType is not set: no mass channel known
)

var reasonNames = [...]string{
	"unknown", "message_window", "event_window", "template", "subscribe_opt_in",
	"mass_budget_left", "daily_mass_batch", "unsubscribed", "opted_out",
	"mass_budget_used", "window_closed", "account_type_unset",
}

// String returns the reason's stable snake_case name, used in plan reports
// and delivery logs.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Decision is the channel chosen for one subscriber and why.
type Decision struct {
	Channel Channel
	Reason  Reason
	// Window is the customer-service window a ChannelCustom decision
	// spends; WindowNone for every other channel.
	Window Window
}

// Reachable reports whether a channel was found.
func (d Decision) Reachable() bool { return d.Channel != ChannelNone }

// Choose returns the cheapest channel WeChat will accept now for a message
// of kind to p, in this order:
//
//  1. a customer-service message while a window is open with quota left
//     (the 48-hour window first, then the 1-minute one);
//  2. for a notice: a template message (service account, template
//     configured), then a subscribe notification (opted in);
//  3. a mass send: on a service account only while the subscriber received
//     fewer than MassPerMonth mass messages this calendar month in r.Loc; on
//     a subscription account always, with ReasonDailyMass, because the
//     sender folds it into the account's single mass send of the day.
//
// Unsubscribed and opted-out subscribers are never reachable. A window is
// open at now when now is before its start plus its length; a caller that
// sends some time after planning passes that later instant as now, so a
// window about to close counts as closed.
func Choose(p *profile.Profile, kind Kind, r Rules, opt Options, now time.Time) Decision {
	switch {
	case p == nil || !p.Subscribed:
		return Decision{Reason: ReasonUnsubscribed}
	case p.OptedOut:
		return Decision{Reason: ReasonOptedOut}
	}
	switch openWindow(p, now) {
	case WindowMessage:
		return Decision{Channel: ChannelCustom, Reason: ReasonMessageWindow, Window: WindowMessage}
	case WindowEvent:
		return Decision{Channel: ChannelCustom, Reason: ReasonEventWindow, Window: WindowEvent}
	}
	if kind == KindNotice {
		if r.TemplateConfigured && r.AccountType == ServiceAccount {
			return Decision{Channel: ChannelTemplate, Reason: ReasonTemplate}
		}
		if opt.HasSubscribeOptIn {
			return Decision{Channel: ChannelSubscribe, Reason: ReasonSubscribeOptIn}
		}
	}
	if opt.DirectOnly {
		return Decision{Reason: ReasonWindowClosed}
	}
	switch r.AccountType {
	case ServiceAccount:
		if MassUsed(p, now, r.Loc) < MassPerMonth {
			return Decision{Channel: ChannelMass, Reason: ReasonMassBudget}
		}
		return Decision{Reason: ReasonMassBudgetUsed}
	case SubscriptionAccount:
		return Decision{Channel: ChannelMass, Reason: ReasonDailyMass}
	}
	return Decision{Reason: ReasonAccountUnset}
}

// openWindow returns the customer-service window a message sent at now
// would count against, or WindowNone.
func openWindow(p *profile.Profile, now time.Time) Window {
	if inWindow(p.LastMessageAt, MessageWindow, now) && p.MessagesUsed < MessageQuota {
		return WindowMessage
	}
	if inWindow(p.LastEventAt, EventWindow, now) && p.EventMsgsUsed < EventQuota {
		return WindowEvent
	}
	return WindowNone
}

// inWindow reports whether now lies in [start, start+length). A start
// slightly after now (clocks of WeChat and a replica disagree) still counts
// as open: the user did write.
func inWindow(start time.Time, length time.Duration, now time.Time) bool {
	return !start.IsZero() && now.Sub(start) < length
}

// MassUsed returns how many mass messages p received in the calendar month
// (in loc) that contains now: the stored count if it belongs to that month,
// else 0.
func MassUsed(p *profile.Profile, now time.Time, loc *time.Location) int {
	if p.MassMonth != MonthNumber(now, loc) {
		return 0
	}
	return int(p.MassCount)
}

// Spend updates p's counters the way a successful send through ch at now
// consumes them: a customer-service message counts against the window
// Choose would use at now (MessagesUsed or EventMsgsUsed), a mass message
// against this month's budget (MassCount, reset when MassMonth is an
// earlier month). Template messages and subscribe notifications spend no
// profile counter (a one-time subscribe opt-in is consumed where it is
// kept). Counters saturate at 255. The delivery core applies the same
// change atomically in the store: the windows in the profile
// (profile.Store.Spend), the mass budget in the month's budget bitmaps
// (profile.MassLevelIndex), where planners read it back into p.
func Spend(p *profile.Profile, ch Channel, now time.Time, loc *time.Location) {
	switch ch {
	case ChannelCustom:
		switch openWindow(p, now) {
		case WindowMessage:
			p.MessagesUsed = inc(p.MessagesUsed)
		case WindowEvent:
			p.EventMsgsUsed = inc(p.EventMsgsUsed)
		}
	case ChannelMass:
		if m := MonthNumber(now, loc); p.MassMonth != m {
			p.MassMonth, p.MassCount = m, 0
		}
		p.MassCount = inc(p.MassCount)
	}
}

func inc(n uint8) uint8 {
	if n == 255 {
		return n
	}
	return n + 1
}
