// Command huntsql times SQL statements run by the SQLite the server runs
// (modernc.org/sqlite, the Go translation of the C library) on a database
// file, for bench/hunt.sh: beside the sqlite3 shell's time (the C
// library), the time the same statement takes in the server's engine.
//
//	huntsql -db FILE [-runs 3] STATEMENT...
//
// For each statement, prints the best of runs runs in seconds, one line a
// statement; each run reads every row. The file is opened read-only.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	db := flag.String("db", "", "the SQLite database file")
	runs := flag.Int("runs", 3, "runs of each statement; the best is printed")
	flag.Parse()
	if *db == "" || flag.NArg() == 0 || *runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: huntsql -db FILE [-runs 3] STATEMENT...")
		os.Exit(2)
	}
	if err := run(*db, *runs, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "huntsql:", err)
		os.Exit(1)
	}
}

func run(file string, runs int, stmts []string) error {
	// The settings of the server's read connections (package sqlite's
	// dsn: a 16 MiB page cache, temporary b-trees in memory); the file's
	// pages are in the OS cache after the first run, as for the shell.
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "cache_size(-16384)")
	q.Add("_pragma", "temp_store(MEMORY)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: file}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	for _, q := range stmts {
		best := time.Duration(-1)
		for range runs {
			d, err := timeOne(ctx, db, q)
			if err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
			if best < 0 || d < best {
				best = d
			}
		}
		fmt.Printf("%.3f\n", best.Seconds())
	}
	return nil
}

// timeOne runs q once, reading every row, and returns how long it took.
func timeOne(ctx context.Context, db *sql.DB, q string) (time.Duration, error) {
	start := time.Now()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
