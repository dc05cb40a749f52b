// Package alerts brings hazard warnings to the subscribers they concern.
//
// A Poller fetches CAP 1.2 feeds (content/alert parses them) with
// conditional GETs and backs off when a feed fails. Each alert is
// remembered once per account, under a key made of its sender and
// identifier, written with SET NX: however many replicas poll the same
// feed, and however often a feed is replayed or the service restarts, an
// alert is taken in — and sent — once.
//
// A new alert is matched to towns and becomes a published notice item
// (alert.NoticeFor, with advice items on its topics) and a campaign
// through the one campaign service to the subscribers of those towns:
// severe and extreme alerts (red, orange) as urgent campaigns, sent
// through quiet hours and frequency caps. An update or cancellation goes
// to the original's recipients only (campaign.Draft.FollowUpOf reads the
// original campaign's notify sent bitmap). An account may hold automatic
// sending (Service.SetHold, or a feed's auto_send false): its alerts wait
// until an organizer approves each one.
//
// Redis keys are built in keys.go.
package alerts
