package main

import "io"

func cmdListsReview(args []string, stdout, stderr io.Writer) int { return 2 }
func cmdListsAdd(args []string, stdout, stderr io.Writer) int    { return 2 }
