package profile

import (
	"reflect"
	"testing"
	"time"
)

// OnlyActivity looks at every field of Profile: changing any one of them
// but the activity's makes it false, so a field added later cannot pass
// as activity unnoticed (the webhook answers such a message before
// recording it).
func TestOnlyActivityCoversEveryField(t *testing.T) {
	activity := map[string]bool{
		"LastActiveAt": true, "LastMessageAt": true, "MessagesUsed": true,
		"LastEventAt": true, "EventMsgsUsed": true, "Reading": true,
		"MassMonth": true, "MassCount": true, // not stored
	}
	at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	before := &Profile{OpenID: "o1", Group: "farmer", Town: "zhengguo", Interests: []Interest{{"health", 40}},
		Subscribed: true, CreatedAt: at, LastActiveAt: at, InterestsAt: at, OptChangedAt: at}
	if !OnlyActivity(before, before.Clone()) {
		t.Fatal("a profile differs from its clone")
	}
	typ := reflect.TypeFor[Profile]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		after := before.Clone()
		changeField(t, reflect.ValueOf(after).Elem().Field(i), at)
		if got := OnlyActivity(before, after); got != activity[name] {
			t.Errorf("%s changed: OnlyActivity = %v, want %v", name, got, activity[name])
		}
	}
	touched := before.Clone()
	touched.TouchMessage(at.Add(time.Hour))
	touched.TouchEvent(at.Add(2 * time.Hour))
	if !OnlyActivity(before, touched) {
		t.Error("TouchMessage and TouchEvent change more than activity")
	}
	if OnlyActivity(nil, before) || OnlyActivity(before, nil) {
		t.Error("OnlyActivity with a nil profile (new, or erased) is true")
	}
}

// changeField sets v to a value other than its current one.
func changeField(t *testing.T, v reflect.Value, at time.Time) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Uint8, reflect.Uint16:
		v.SetUint(v.Uint() + 1)
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.ValueOf(Interest{"safety", 10})))
	case reflect.Struct:
		switch x := v.Addr().Interface().(type) {
		case *time.Time:
			*x = at.Add(time.Minute)
		case *Reading:
			x.X++
		default:
			t.Fatalf("changeField: no change for %s", v.Type())
		}
	default:
		t.Fatalf("changeField: no change for %s", v.Type())
	}
}
