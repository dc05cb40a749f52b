package configs

import "embed"

// Samples holds samples/: reviewed sample content (items.yaml,
// questions.yaml, events.yaml) in the importer's file format, so a fresh
// install has a useful library and tests have realistic data.
//
//go:embed samples
var Samples embed.FS
