// Command querylog writes a large city's query log for the benchmarks:
// -days days of -records records each, real names (the shipped sample of
// popular names, and listed names from the shipped lists for the blocked
// lookups), -clients clients in a few departments; the finished days
// compacted and indexed as civicdns does at midnight.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/civicdns/civicdns/internal/realdata"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/querylog"
)

func main() {
	dir := flag.String("dir", "bench/out/querylog", "the log folder to write")
	days := flag.Int("days", 30, "days")
	records := flag.Int("records", 1000000, "records a day")
	clients := flag.Int("clients", 3000, "clients")
	flag.Parse()
	root, err := realdata.Root()
	if err != nil {
		log.Fatal(err)
	}
	popular, err := realdata.TopDomains(root)
	if err != nil {
		log.Fatal(err)
	}
	listed, err := realdata.BlockNames(root)
	if err != nil {
		log.Fatal(err)
	}
	os.RemoveAll(*dir)
	lg, err := querylog.Open(querylog.Options{Dir: *dir, Instance: "bench", Location: time.UTC}, nil)
	if err != nil {
		log.Fatal(err)
	}
	depts := []string{"Police", "Parks", "Library", "Public Works", "Finance", ""}
	categories := []string{"gambling", "adult", "filesharing", "chat"}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -*days)
	step := 24 * time.Hour / time.Duration(*records)
	r := &query.Record{Type: 1}
	for d := 0; d < *days; d++ {
		day := start.AddDate(0, 0, d)
		for i := 0; i < *records; i++ {
			c := rng.IntN(*clients)
			r.Time = day.Add(time.Duration(i) * step)
			r.Client = netip.AddrFrom4([4]byte{10, byte(20 + c%6), byte(c / 250), byte(c % 250)})
			r.Department = depts[c%6]
			r.Action, r.Category, r.Rcode, r.Cached = "allowed", "", 0, rng.IntN(4) != 0
			if rng.IntN(50) == 0 {
				r.Name = []byte("www." + listed[rng.IntN(len(listed))])
				r.Action, r.Category = "blocked", categories[rng.IntN(len(categories))]
			} else {
				r.Name = []byte(popular[rng.IntN(len(popular))])
			}
			r.Elapsed = time.Duration(rng.IntN(2000)) * time.Microsecond
			lg.Record(r)
			if i%20000 == 0 {
				lg.Flush()
			}
		}
		lg.Flush()
	}
	if err := lg.Flush(); err != nil {
		log.Fatal(err)
	}
	_, dayList, _ := querylog.Days(*dir)
	for _, day := range dayList {
		if err := querylog.Compact(querylog.DayFile(*dir, day)); err != nil {
			log.Fatal(err)
		}
	}
	var size int64
	files, _ := filepath.Glob(filepath.Join(*dir, "dns-*"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	total := *days * *records
	fmt.Printf("wrote %d records over %d days: %.1f MB on disk, %.1f MB per million records (zstd blocks and their indexes)\n",
		total, *days, float64(size)/1e6, float64(size)/1e6/(float64(total)/1e6))
}
