// Package plan decides, for one subscriber at one instant, what kepubot may
// push and how: the cheapest WeChat channel that will accept a message now
// (Choose, Spend), whether the district's quiet hours hold pushes back
// (QuietHours), whether frequency caps allow another push (Caps), and the
// best published item for the subscriber (Score, Pick, Picker) and why
// (Explain: the factors of the score and the expected click probability).
//
// Everything here is pure: no Redis, no network, no clock. Callers pass the
// instant (now) and the district's time zone (loc), and apply the results
// (counters spent, items recorded as received) elsewhere, atomically. A nil
// *time.Location is treated as UTC.
//
// WeChat's limits encoded here are described in shared/WECHAT.md: the
// 48-hour/5-message and 1-minute/3-message customer-service windows, the
// service account's 4 mass messages per subscriber per calendar month, the
// subscription account's one mass send per day, and template messages being
// for service notices only.
package plan
