package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchItems is the size of the generated library: a district-sized one.
const benchItems = 2000

// BenchmarkImport imports a YAML file of benchItems new items into a
// fresh account per iteration and reports records per second.
func BenchmarkImport(b *testing.B) {
	bd := setup(b)
	var sb strings.Builder
	sb.WriteString("items:\n")
	topics := []string{"litchi", "rice", "health", "safety", "disaster", "energy"}
	for i := range benchItems {
		fmt.Fprintf(&sb, `  - external_id: bench-%05d
    title: 第%d条科普
    summary: 这是一条用于测试导入速度的科普摘要，长度与真实条目相当。
    body: |
      正文第一段。

      正文第二段。
    url: https://kepu.example.org/a/bench-%05d
    groups: [farmer]
    towns: [paitan, zhengguo]
    topics: [%s]
    season: {months: [3, 4]}
    priority: %d
    source: 增城区科协
`, i, i, i, topics[i%len(topics)], i%100)
	}
	path := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		rep, err := Import(bd.ctx, bd.store, fmt.Sprintf("bench%d", n), []string{path}, Options{})
		if err != nil || rep.Created != benchItems {
			b.Fatalf("Import() = %+v, %v", rep.Counts, err)
		}
		n++
	}
	b.ReportMetric(float64(n*benchItems)/b.Elapsed().Seconds(), "records/s")
}
