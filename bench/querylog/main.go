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
	"path/filepath"
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
	compactAll(*dir)
	var size int64
	files, _ := filepath.Glob(filepath.Join(*dir, "dns-*"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	fmt.Printf("wrote %d records over %d days: %.1f MB on disk, %.1f bytes a record (zstd blocks and their indexes)\n",
		total, *days, float64(size)/1e6, float64(size)/float64(total))
}

// compactAll compacts every finished day, as the logger does at midnight.
func compactAll(dir string) {
	began := time.Now()
	_, dayList, _ := querylog.Days(dir)
	for _, day := range dayList {
		if err := querylog.Compact(querylog.DayFile(dir, day)); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("compacted %d days in %.1f s\n", len(dayList), time.Since(began).Seconds())
}
