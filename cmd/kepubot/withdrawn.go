package main

import (
	"html/template"
	"net/http"

	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// withdrawnPage is what a tracked link to a retired item shows: a short
// notice, the reason and the correction when there is one.
var withdrawnPage = template.Must(template.New("withdrawn").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>内容已撤回</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em;line-height:1.6">
<h1 style="font-size:1.3em">这篇内容已撤回</h1>
<p>《{{.Title}}》已由发布方撤回，请不要再参考。</p>
{{if .Reason}}<p>原因：{{.Reason}}</p>{{end}}
{{if .Correction}}<p>更正内容：<a href="{{.Correction.URL}}">{{.Correction.Title}}</a></p>{{end}}
</body></html>
`))

// writeWithdrawn answers a link to a retired item (410 Gone).
func writeWithdrawn(w http.ResponseWriter, wd *campaign.WithdrawnError) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusGone)
	withdrawnPage.Execute(w, wd)
}
