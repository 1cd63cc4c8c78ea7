// Package workload generates the requests of the example service's load
// generator and benchmark: deterministic for a seed, with the skew of real
// traffic (a few heavy users and popular items, mostly views, some messy
// strings).
package workload

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/pg-pprof/pg_pprof/examples/service/internal/score"
)

// Now is the request time of every generated request (2024-01-01 UTC), so
// that responses are reproducible.
const Now = 1704067200

var tags = []string{"sale", "new", "gift", "bundle", "clearance", "red", "blue",
	"green", "xl", "s", "m", "l", "eco", "promo", "outlet", "limited"}

// Request returns a JSON request body of n events, the same for the same
// seed and n.
func Request(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	users := rand.NewZipf(r, 1.2, 4, 4999)
	items := rand.NewZipf(r, 1.1, 2, 19999)
	req := score.Request{
		Tenant: fmt.Sprintf("Tenant-%d", seed%7),
		Now:    Now,
		TopK:   20,
		Events: make([]score.Event, n),
	}
	for i := range req.Events {
		e := &req.Events[i]
		e.User = fmt.Sprintf("user-%05d", users.Uint64())
		e.Item = fmt.Sprintf("sku-%06d", items.Uint64())
		switch x := r.IntN(100); {
		case x < 70:
			e.Kind = "view"
		case x < 88:
			e.Kind = "cart"
		case x < 98:
			e.Kind = "buy"
		default:
			e.Kind = "refund"
		}
		// Some clients send mixed case and stray spaces.
		switch r.IntN(10) {
		case 0:
			e.User = "User-" + e.User[len("user-"):]
		case 1:
			e.Item = " SKU-" + e.Item[len("sku-"):] + " "
		case 2:
			e.Kind = "View"
		}
		e.Cents = int64(99 + r.IntN(20)*r.IntN(20)*r.IntN(25)*10)
		e.Qty = 1 + r.IntN(3)*r.IntN(3)
		for range r.IntN(4) {
			e.Tags = append(e.Tags, tags[r.IntN(len(tags))])
		}
		e.TS = Now - int64(r.IntN(30*24*3600))
	}
	body, err := json.Marshal(req)
	if err != nil {
		panic(err) // cannot happen: plain structs
	}
	return body
}

// Requests returns k different request bodies of n events each.
func Requests(k, n int) [][]byte {
	out := make([][]byte, k)
	for i := range out {
		out[i] = Request(uint64(i)+1, n)
	}
	return out
}
