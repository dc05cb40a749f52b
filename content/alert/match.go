package alert

import (
	"math"
	"strconv"
	"strings"

	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// Towns returns the ids of the towns a's main info block covers, in the
// taxonomy's order: a town is covered when an area's geocode is its
// administrative code or a prefix of it (a district or city code covers
// all its towns), or when the town's centre lies in an area's polygon or
// circle.
func Towns(a *Alert, towns []taxonomy.Town) []string {
	info := a.Main()
	var out []string
	for _, tw := range towns {
		if covers(info.Area, tw) {
			out = append(out, tw.ID)
		}
	}
	return out
}

func covers(areas []Area, tw taxonomy.Town) bool {
	for _, ar := range areas {
		for _, g := range ar.Geocode {
			if codeCovers(g.Value, tw.Code) {
				return true
			}
		}
		for _, p := range ar.Polygon {
			if poly, ok := parsePolygon(p); ok && inPolygon(poly, tw.Lat, tw.Lon) {
				return true
			}
		}
		for _, c := range ar.Circle {
			if lat, lon, r, ok := parseCircle(c); ok && km(lat, lon, tw.Lat, tw.Lon) <= r {
				return true
			}
		}
	}
	return false
}

// codeCovers reports whether the administrative code v names town (code
// town) or an area containing it: a 6-digit county code (whose trailing
// "00" or "0000" pads a city or province), a 9-digit town code, or a
// 12-digit village code (inside its town).
func codeCovers(v, town string) bool {
	v = strings.TrimSpace(v)
	if len(town) != 9 || strings.Trim(v, "0123456789") != "" {
		return false
	}
	switch len(v) {
	case 12:
		return v[:9] == town
	case 9:
		return v == town
	case 6:
		switch {
		case strings.HasSuffix(v, "0000"):
			v = v[:2]
		case strings.HasSuffix(v, "00"):
			v = v[:4]
		}
		return strings.HasPrefix(town, v)
	}
	return false
}

type point struct{ lat, lon float64 }

// parsePolygon reads CAP's "lat,lon lat,lon ..." (at least 4 pairs, the
// first equal to the last).
func parsePolygon(s string) ([]point, bool) {
	f := strings.Fields(s)
	if len(f) < 4 {
		return nil, false
	}
	out := make([]point, 0, len(f))
	for _, p := range f {
		lat, lon, ok := pair(p)
		if !ok {
			return nil, false
		}
		out = append(out, point{lat, lon})
	}
	return out, true
}

// parseCircle reads CAP's "lat,lon radius" (radius in km).
func parseCircle(s string) (lat, lon, r float64, ok bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, 0, false
	}
	lat, lon, ok = pair(f[0])
	if !ok {
		return 0, 0, 0, false
	}
	r, err := strconv.ParseFloat(f[1], 64)
	if err != nil || r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return 0, 0, 0, false
	}
	return lat, lon, r, true
}

func pair(s string) (lat, lon float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	lat, err1 := strconv.ParseFloat(a, 64)
	lon, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return 0, 0, false
	}
	return lat, lon, true
}

// inPolygon is the even-odd ray test; a town's area is small enough for
// plane geometry.
func inPolygon(poly []point, lat, lon float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.lat > lat) != (b.lat > lat) && lon < (b.lon-a.lon)*(lat-a.lat)/(b.lat-a.lat)+a.lon {
			in = !in
		}
	}
	return in
}

// km is the great-circle distance.
func km(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}
