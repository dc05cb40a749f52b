// Package configs embeds the default configuration files so a fresh
// checkout runs with no files on disk.
package configs

import _ "embed"

// Taxonomy is taxonomy.yaml: the district's audience groups, towns and
// topics. Parse it with content/taxonomy, which validates it.
//
//go:embed taxonomy.yaml
var Taxonomy []byte
