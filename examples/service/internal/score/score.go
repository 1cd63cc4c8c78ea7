// Package score is the hot path of the example service: it ranks the users
// of a batch of shop events (views, carts, purchases, refunds).
//
// The work is typical of a Go service: decode a JSON request, canonicalize
// and hash strings, look things up in maps, run a pipeline of rules behind
// an interface, keep small sorted sets, sort, and encode a JSON response.
// Many callees are small enough for the inliner only when a profile says
// they are hot, and the rules and the hasher are called through interfaces
// that PGO can devirtualize: the kind of code where `go build -pgo` helps.
package score

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxEvents bounds the events of one request.
const MaxEvents = 100_000

// DefaultTopK is the number of users returned when the request gives none.
const DefaultTopK = 10

// Event is one user action in a request.
type Event struct {
	User  string   `json:"user"`
	Item  string   `json:"item"`
	Kind  string   `json:"kind"` // view, cart, buy, refund
	Cents int64    `json:"price_cents"`
	Qty   int      `json:"qty"`
	Tags  []string `json:"tags,omitempty"`
	TS    int64    `json:"ts"` // Unix seconds
}

// Request is the body of POST /v1/score.
type Request struct {
	Tenant string  `json:"tenant"`
	Now    int64   `json:"now"` // Unix seconds; recency is relative to it
	TopK   int     `json:"top_k,omitempty"`
	Events []Event `json:"events"`
}

// Response is the answer to a Request.
type Response struct {
	Tenant   string      `json:"tenant"`
	Events   int         `json:"events"`
	Rejected int         `json:"rejected"`
	Users    int         `json:"users"`
	Revenue  int64       `json:"revenue_cents"`
	P50Cents int64       `json:"p50_cents"`
	P95Cents int64       `json:"p95_cents"`
	Top      []UserScore `json:"top"`
	Digest   string      `json:"digest"`
}

// UserScore is one ranked user.
type UserScore struct {
	User  string  `json:"user"`
	Score float64 `json:"score"`
	Items int     `json:"items"`
	Spent int64   `json:"spent_cents"`
}

// ErrBadRequest wraps every error caused by the request's content.
var ErrBadRequest = errors.New("bad request")

// Hasher maps a canonical string to a 64-bit key.
type Hasher interface {
	Sum(s string) uint64
}

// Rule adjusts the score of one event.
type Rule interface {
	Apply(e *Event, now int64, s float64) float64
}

// Scorer holds the configuration of the scoring pipeline. The zero value is
// not usable; use NewScorer.
type Scorer struct {
	hasher Hasher
	rules  []Rule
}

// NewScorer returns the scorer the service runs in production.
func NewScorer() *Scorer {
	return &Scorer{
		hasher: fnvHasher{},
		rules: []Rule{
			kindWeight{},
			priceBand{},
			tagBoost{boost: map[string]float64{
				"sale": 1.3, "new": 1.2, "gift": 1.15, "bundle": 1.1, "clearance": 0.8,
			}},
			recency{halfLife: 7 * 24 * 3600},
		},
	}
}

// Handle decodes a JSON request, scores it and returns the JSON response.
// Errors caused by the request wrap ErrBadRequest.
func (s *Scorer) Handle(body []byte) ([]byte, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if len(req.Events) > MaxEvents {
		return nil, fmt.Errorf("%w: %d events, at most %d allowed", ErrBadRequest, len(req.Events), MaxEvents)
	}
	resp := s.Score(&req)
	return json.Marshal(resp)
}

// userAgg accumulates the events of one user.
type userAgg struct {
	user   string
	key    uint64
	score  float64
	events int
	spent  int64
	items  []uint64 // sorted item keys
}

// Score ranks the users of req. It canonicalizes req's strings in place.
func (s *Scorer) Score(req *Request) Response {
	topK := req.TopK
	if topK <= 0 {
		topK = DefaultTopK
	}
	resp := Response{Tenant: canonical(req.Tenant), Events: len(req.Events)}

	index := make(map[uint64]int32, len(req.Events)/4+1)
	aggs := make([]userAgg, 0, len(req.Events)/4+1)
	var amounts []int64
	for i := range req.Events {
		e := &req.Events[i]
		if !normalizeEvent(e) {
			resp.Rejected++
			continue
		}
		score := s.apply(e, req.Now)
		ukey := s.hasher.Sum(e.User)
		j, ok := index[ukey]
		if !ok {
			j = int32(len(aggs))
			index[ukey] = j
			aggs = append(aggs, userAgg{user: e.User, key: ukey})
		}
		a := &aggs[j]
		a.add(e, s.hasher.Sum(e.Item), score)
		if e.Kind == "buy" {
			amount := e.Cents * int64(e.Qty)
			resp.Revenue += amount
			amounts = append(amounts, amount)
		} else if e.Kind == "refund" {
			resp.Revenue -= e.Cents * int64(e.Qty)
		}
	}

	resp.Users = len(aggs)
	slices.Sort(amounts)
	resp.P50Cents = percentile(amounts, 50)
	resp.P95Cents = percentile(amounts, 95)

	slices.SortFunc(aggs, compareAgg)
	n := min(topK, len(aggs))
	resp.Top = make([]UserScore, n)
	digest := uint64(len(aggs))
	for i := range n {
		a := &aggs[i]
		resp.Top[i] = UserScore{User: a.user, Score: round3(a.score), Items: len(a.items), Spent: a.spent}
		digest = mix(digest ^ a.key ^ math.Float64bits(resp.Top[i].Score))
	}
	resp.Digest = strconv.FormatUint(digest, 16)
	return resp
}

// apply runs the rule pipeline on one event.
func (s *Scorer) apply(e *Event, now int64) float64 {
	score := 1.0
	for _, r := range s.rules {
		score = r.Apply(e, now, score)
	}
	return score
}

// add records one event of the user.
func (a *userAgg) add(e *Event, itemKey uint64, score float64) {
	a.events++
	a.score += score
	switch e.Kind {
	case "buy":
		a.spent += e.Cents * int64(e.Qty)
	case "refund":
		a.spent -= e.Cents * int64(e.Qty)
		a.score -= 0.5 * score
	}
	a.items = insertSorted(a.items, itemKey)
}

// insertSorted adds v to the sorted set s unless it is there already.
func insertSorted(s []uint64, v uint64) []uint64 {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s) && s[lo] == v {
		return s
	}
	s = append(s, 0)
	copy(s[lo+1:], s[lo:])
	s[lo] = v
	return s
}

// compareAgg orders users by score (highest first), then spend, then name.
func compareAgg(a, b userAgg) int {
	switch {
	case a.score > b.score:
		return -1
	case a.score < b.score:
		return 1
	case a.spent != b.spent:
		if a.spent > b.spent {
			return -1
		}
		return 1
	}
	return strings.Compare(a.user, b.user)
}

// percentile returns the p-th percentile (nearest rank) of sorted v, 0 if
// v is empty.
func percentile(v []int64, p int) int64 {
	if len(v) == 0 {
		return 0
	}
	rank := (p*len(v) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return v[rank-1]
}

// round3 rounds x to three decimals, so that responses compare as text.
func round3(x float64) float64 {
	return math.Round(x*1000) / 1000
}

// normalizeEvent canonicalizes e's strings and reports whether e is valid.
func normalizeEvent(e *Event) bool {
	e.User = canonical(e.User)
	e.Item = canonical(e.Item)
	e.Kind = canonical(e.Kind)
	if e.User == "" || e.Item == "" || e.Qty <= 0 || e.Cents < 0 {
		return false
	}
	switch e.Kind {
	case "view", "cart", "buy", "refund":
	default:
		return false
	}
	for i, t := range e.Tags {
		e.Tags[i] = canonical(t)
	}
	return true
}

// canonical returns s without leading and trailing ASCII white space, in
// lower case. It allocates only when the case changes.
func canonical(s string) string {
	start, end := 0, len(s)
	for start < end && isSpace(s[start]) {
		start++
	}
	for end > start && isSpace(s[end-1]) {
		end--
	}
	s = s[start:end]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			return lowerASCII(s, i)
		}
	}
	return s
}

// lowerASCII lower-cases the ASCII string s, whose first upper-case letter
// is at i.
func lowerASCII(s string, i int) string {
	b := make([]byte, len(s))
	copy(b, s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// fnvHasher is FNV-1a with a 64-bit finalizer (murmur3's fmix64), so that
// keys of similar strings spread over the map.
type fnvHasher struct{}

func (fnvHasher) Sum(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

// mix is murmur3's 64-bit finalizer.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// kindWeight weighs an event by what the user did.
type kindWeight struct{}

func (kindWeight) Apply(e *Event, now int64, s float64) float64 {
	switch e.Kind {
	case "view":
		return s * 0.1
	case "cart":
		return s * 0.5
	case "buy":
		return s * (1 + 0.25*float64(min(e.Qty, 8)))
	case "refund":
		return s * -1
	}
	return 0
}

// priceBand favours the price range the shop wants to grow.
type priceBand struct{}

func (priceBand) Apply(e *Event, now int64, s float64) float64 {
	c := e.Cents
	switch {
	case c < 500:
		return s * 0.8
	case c < 2_000:
		return s * 1.0
	case c < 10_000:
		return s * 1.4
	case c < 50_000:
		return s * 1.2
	}
	return s * (1 + math.Log10(float64(c)/50_000))
}

// tagBoost multiplies the boosts of an event's tags (each tag once).
type tagBoost struct {
	boost map[string]float64
}

func (t tagBoost) Apply(e *Event, now int64, s float64) float64 {
	for i, tag := range e.Tags {
		if slices.Contains(e.Tags[:i], tag) {
			continue
		}
		if b, ok := t.boost[tag]; ok {
			s *= b
		}
	}
	return s
}

// recency halves an event's weight every halfLife seconds of age.
type recency struct {
	halfLife float64
}

func (r recency) Apply(e *Event, now int64, s float64) float64 {
	age := float64(now - e.TS)
	if age <= 0 {
		return s
	}
	return s * math.Exp2(-age/r.halfLife)
}
