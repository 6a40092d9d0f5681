// Command querylog writes a city's query log for the benchmarks: -days days
// of -records records each (issue 29: 20,000,000, a city of 5,000 devices),
// the finished days compacted and indexed as civicdns does at midnight.
//
// The lookups are shaped like a real network's, since that is what the
// compression and the indexes see: names by popularity (a Zipf law over
// the shipped sample of popular names, ranked), each device with habits of
// its own (two in three of its lookups from a few dozen names it keeps
// asking, its "apps"), some devices far busier than others (a managed
// laptop asks thousands of names a day, a printer dozens), one lookup in
// ten a name of its own (telemetry and CDN names with a random label), one
// in fifty a listed name, blocked (a few prohibited sites most often).
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/civicdns/civicdns/internal/realdata"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/querylog"
)

func main() {
	dir := flag.String("dir", "bench/out/querylog", "the log folder to write")
	days := flag.Int("days", 2, "days")
	records := flag.Int("records", 20000000, "records a day")
	devices := flag.Int("clients", 5000, "devices")
	open := flag.Bool("open", true, "leave the last day as the day in progress (not compacted, searched through its chunk index)")
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
	city := newCity(rand.New(rand.NewPCG(1, 2)), popular, listed, *devices)
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -*days)
	step := 24 * time.Hour / time.Duration(*records)
	began := time.Now()
	r := &query.Record{Type: 1}
	for d := 0; d < *days; d++ {
		day := start.AddDate(0, 0, d)
		for i := 0; i < *records; i++ {
			city.lookup(r)
			r.Time = day.Add(time.Duration(i) * step)
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
	recorded := time.Since(began)
	total := *days * *records
	fmt.Printf("recorded %d records in %.1f s: %.0f records/s on one goroutine (a 3x morning burst of %d a day is %.0f/s); %d dropped\n",
		total, recorded.Seconds(), float64(total)/recorded.Seconds(), *records, 3*float64(*records)/86400, lg.Dropped())
	compactAll(*dir, *open)
	size, compacted := compactedSize(*dir, *records)
	if compacted > 0 {
		fmt.Printf("wrote %d records over %d days: %.1f MB on disk compacted, %.1f bytes a record (zstd blocks and their indexes, over the %d compacted days)\n",
			total, *days, float64(size)/1e6, float64(size)/float64(compacted), compacted / *records)
	}
}

// compactedSize is the bytes of the compacted days' files, and their records.
func compactedSize(dir string, perDay int) (int64, int) {
	files, days, _ := querylog.Days(dir)
	var size int64
	records := 0
	for _, day := range days {
		if slices.ContainsFunc(files[day], func(f string) bool { return strings.HasSuffix(f, ".jsonl") }) {
			continue // the day in progress
		}
		records += perDay
		for _, f := range files[day] {
			if fi, err := os.Stat(f); err == nil {
				size += fi.Size()
			}
		}
	}
	return size, records
}

// compactAll compacts every finished day, as the logger does at midnight
// (but the last when it stays open).
func compactAll(dir string, open bool) {
	began := time.Now()
	_, dayList, _ := querylog.Days(dir)
	if open && len(dayList) > 0 {
		dayList = dayList[:len(dayList)-1]
	}
	for _, day := range dayList {
		if err := querylog.Compact(querylog.DayFile(dir, day)); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("compacted %d days in %.1f s\n", len(dayList), time.Since(began).Seconds())
}
