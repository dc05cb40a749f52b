// Package alert reads hazard warnings in CAP 1.2 (OASIS Common Alerting
// Protocol, the XML the China Meteorological Administration and other
// alerting authorities publish) and decides what they mean for the
// district: which towns an alert covers (by administrative code or by
// polygon/circle around a town's centre), how urgent it is, and the short
// Chinese notice residents get for it.
//
// Everything here is pure: fetching feeds, remembering alerts and sending
// notices live in scheduler/alerts.
package alert
