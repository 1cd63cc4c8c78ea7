// Package lib has a generic type with methods, for the names of edges.
package lib

// Set is a set of comparable values.
type Set[T comparable] struct{ m map[T]struct{} }

// NewSet returns an empty set.
func NewSet[T comparable]() *Set[T] {
	return &Set[T]{m: make(map[T]struct{})}
}

// Add puts v in the set.
func (s *Set[T]) Add(v T) {
	s.m[v] = struct{}{}
	grow(len(s.m))
}

// Len is the number of elements.
func (s *Set[T]) Len() int { return len(s.m) }

func grow(n int) int { return n * 2 }
