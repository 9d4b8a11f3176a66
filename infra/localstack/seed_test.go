package localstack

import (
	"math"
	"net/http"
	"testing"
	"time"
)

// TestDemoData reads the seeded data back through the API, as the admin.
func TestDemoData(t *testing.T) {
	admin := token(t, "admin@registry.example", true)
	type secret struct {
		Name       string     `json:"name"`
		ExpiresAt  time.Time  `json:"expiresAt"`
		LastUsedAt *time.Time `json:"lastUsedAt"`
		Status     string     `json:"status"`
	}
	want := map[string]struct {
		managers, viewers int
		daysLeft          map[string]float64 // by secret name
		used              []string           // most recently used first
	}{
		"Acme Search":     {2, 1, map[string]float64{"Production key": 5, "Rotation 2026": 90}, []string{"Rotation 2026", "Production key"}},
		"Acme Data Sync":  {1, 0, map[string]float64{"Nightly sync": -2, "Sync 2026": 25}, nil},
		"Globex Matching": {2, 0, map[string]float64{"Matching 2026": 200, "Matching legacy": 1}, nil},
	}
	for name, w := range want {
		id := applicationID(t, name)
		var detail struct {
			Designations []struct{ Email, Role string } `json:"designations"`
		}
		r := call(t, http.MethodGet, "/v1/applications/"+id, admin, "", "")
		r.json(t, &detail)
		roles := map[string]int{}
		for _, d := range detail.Designations {
			roles[d.Role]++
		}
		if roles["credential_manager"] != w.managers || roles["viewer"] != w.viewers {
			t.Errorf("%s designations %+v", name, detail.Designations)
		}
		var list struct {
			Items []secret `json:"items"`
		}
		r = call(t, http.MethodGet, "/v1/applications/"+id+"/secrets", admin, "", "")
		r.json(t, &list)
		byName := map[string]secret{}
		for _, s := range list.Items {
			byName[s.Name] = s
		}
		for sn, days := range w.daysLeft {
			s, ok := byName[sn]
			if !ok {
				t.Errorf("%s has no secret %q", name, sn)
				continue
			}
			left := time.Until(s.ExpiresAt).Hours() / 24
			if math.Abs(left-days) > 0.5 {
				t.Errorf("%s / %s expires in %.2f days, want %v", name, sn, left, days)
			}
			if (days < 0) != (s.Status == "expired") {
				t.Errorf("%s / %s status %s", name, sn, s.Status)
			}
		}
		var newer *time.Time
		for _, sn := range w.used {
			used := byName[sn].LastUsedAt
			if used == nil || time.Since(*used) > 24*time.Hour {
				t.Errorf("%s / %s not used recently: %v", name, sn, used)
				continue
			}
			if newer != nil && !used.Before(*newer) {
				t.Errorf("%s: %s used last, not %s", name, sn, w.used[0])
			}
			newer = used
		}
	}
}
