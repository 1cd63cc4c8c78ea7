// A module for pgo-check's tests: its call sites are the edges of
// testdata/hot.preprofile (line offsets from each function's func line).
package main

import (
	"fmt"

	"example.com/hot/lib"
)

func main() {
	s := lib.NewSet[int]()
	for i := 0; i < 10; i++ {
		work(s, i)
	}
	fmt.Println(s.Len())
}

func work(s *lib.Set[int], i int) {
	s.Add(i)
	each := func(v int) {
		s.Add(v * 2)
	}
	each(i)
	_ = fmt.Sprint(i)
}
