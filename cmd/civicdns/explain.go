package main

import (
	"fmt"
	"io"
)

func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "civicdns explain: not available yet")
	return 1
}
