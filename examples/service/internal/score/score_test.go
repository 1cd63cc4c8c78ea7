package score_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/pg-pprof/pg_pprof/examples/service/internal/score"
	"github.com/pg-pprof/pg_pprof/examples/service/internal/workload"
)

// handle runs Handle and decodes its answer.
func handle(t *testing.T, body []byte) score.Response {
	t.Helper()
	out, err := score.NewScorer().Handle(body)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	var resp score.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, out)
	}
	return resp
}

func TestScoreSmall(t *testing.T) {
	body := `{"tenant":" ACME ","now":1000,"top_k":2,"events":[
		{"user":"Ann","item":"sku-1","kind":"buy","price_cents":1000,"qty":2,"ts":1000},
		{"user":" ann ","item":"SKU-2","kind":"View","price_cents":1000,"qty":1,"ts":1000},
		{"user":"ann","item":"sku-1","kind":"cart","price_cents":1000,"qty":1,"ts":1000},
		{"user":"bob","item":"sku-3","kind":"buy","price_cents":3000,"qty":1,"tags":["sale","SALE"],"ts":1000},
		{"user":"bob","item":"sku-3","kind":"refund","price_cents":3000,"qty":1,"ts":1000},
		{"user":"cy","item":"sku-9","kind":"cart","price_cents":100,"qty":1,"ts":1000},
		{"user":"","item":"sku-1","kind":"buy","price_cents":1000,"qty":1,"ts":1000},
		{"user":"dan","item":"sku-1","kind":"steal","price_cents":1000,"qty":1,"ts":1000}]}`
	resp := handle(t, []byte(body))
	if resp.Tenant != "acme" || resp.Events != 8 || resp.Rejected != 2 || resp.Users != 3 {
		t.Errorf("tenant/events/rejected/users = %q/%d/%d/%d, want acme/8/2/3",
			resp.Tenant, resp.Events, resp.Rejected, resp.Users)
	}
	// ann bought 2 x 1000, bob bought and returned 3000.
	if resp.Revenue != 2000 || resp.P50Cents != 2000 || resp.P95Cents != 3000 {
		t.Errorf("revenue/p50/p95 = %d/%d/%d, want 2000/2000/3000", resp.Revenue, resp.P50Cents, resp.P95Cents)
	}
	// ann: buy 1.5 + view 0.1 + cart 0.5 = 2.1; bob: buy 1.25*1.4*1.3 =
	// 2.275, refund -1.4 then halved: -0.7 → 1.575; cy: 0.5*0.8 = 0.4.
	want := []score.UserScore{
		{User: "ann", Score: 2.1, Items: 2, Spent: 2000},
		{User: "bob", Score: 1.575, Items: 1, Spent: 0},
	}
	if !slices.Equal(resp.Top, want) {
		t.Errorf("top = %+v, want %+v", resp.Top, want)
	}
}

func TestRecency(t *testing.T) {
	body := `{"now":1209600,"events":[
		{"user":"old","item":"a","kind":"cart","price_cents":1000,"qty":1,"ts":0},
		{"user":"new","item":"a","kind":"cart","price_cents":1000,"qty":1,"ts":1209600}]}`
	resp := handle(t, []byte(body))
	// two half-lives (14 days): a quarter of the weight
	if len(resp.Top) != 2 || resp.Top[0].Score != 0.5 || resp.Top[1].Score != 0.125 {
		t.Errorf("top = %+v, want new 0.5, old 0.125", resp.Top)
	}
}

func TestBadRequest(t *testing.T) {
	for _, body := range []string{``, `{`, `{"events":"x"}`, `[1]`} {
		if _, err := score.NewScorer().Handle([]byte(body)); !errors.Is(err, score.ErrBadRequest) {
			t.Errorf("Handle(%q) = %v, want ErrBadRequest", body, err)
		}
	}
}

// The generated workload is deterministic, and so is the answer to it.
func TestWorkloadDeterministic(t *testing.T) {
	a, b := workload.Request(3, 500), workload.Request(3, 500)
	if string(a) != string(b) {
		t.Fatal("workload.Request is not deterministic")
	}
	ra, rb := handle(t, a), handle(t, b)
	if ra.Digest != rb.Digest || ra.Users < 50 || ra.Rejected != 0 || len(ra.Top) != 20 {
		t.Errorf("responses: digest %s/%s, %d users, %d rejected, %d top",
			ra.Digest, rb.Digest, ra.Users, ra.Rejected, len(ra.Top))
	}
}

// BenchmarkHotPath is the service's request handling without HTTP: decode,
// score, encode requests of 200 events. bench/pgo-speedup runs it built
// with and without the gateway's profile. Besides ns/op (wall time) it
// reports cpu-ns/op, the process's CPU time per operation (garbage
// collection included), which other jobs on a shared machine disturb less.
func BenchmarkHotPath(b *testing.B) {
	reqs := workload.Requests(16, 200)
	var bytes int64
	for _, r := range reqs {
		bytes += int64(len(r))
	}
	s := score.NewScorer()
	b.SetBytes(bytes / int64(len(reqs)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := s.Handle(reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
