package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// bulkRows is how many rows one multi-row statement carries. Per-statement
// overhead (database/sql, the driver, the VDBE program start) dominates
// single-row UPSERTs; 256 rows of up to 8 columns stay far below SQLite's
// limit of 32766 parameters.
const bulkRows = 256

// bulk runs a multi-row statement "head VALUES (?, ...), ... tail" over
// rows added one at a time, bulkRows rows per execution, inside a
// transaction.
type bulk struct {
	tx         *sql.Tx
	head, tail string
	width      int       // parameters per row
	full       *sql.Stmt // prepared for bulkRows rows
	args       []any
}

func newBulk(tx *sql.Tx, head string, width int, tail string) *bulk {
	return &bulk{tx: tx, head: head, tail: tail, width: width, args: make([]any, 0, width*bulkRows)}
}

func (b *bulk) query(rows int) string {
	row := "(?" + strings.Repeat(", ?", b.width-1) + ")"
	var s strings.Builder
	s.WriteString(b.head)
	s.WriteString(" VALUES ")
	for i := range rows {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(row)
	}
	s.WriteString(" ")
	s.WriteString(b.tail)
	return s.String()
}

// add appends one row of b.width values, executing a full statement when
// bulkRows rows have accumulated.
func (b *bulk) add(ctx context.Context, values ...any) error {
	b.args = append(b.args, values...)
	if len(b.args) < b.width*bulkRows {
		return nil
	}
	if b.full == nil {
		var err error
		if b.full, err = b.tx.PrepareContext(ctx, b.query(bulkRows)); err != nil {
			return err
		}
	}
	_, err := b.full.ExecContext(ctx, b.args...)
	b.args = b.args[:0]
	return err
}

// flush executes the remaining rows and releases the prepared statement.
func (b *bulk) flush(ctx context.Context) error {
	var err error
	if n := len(b.args) / b.width; n > 0 {
		_, err = b.tx.ExecContext(ctx, b.query(n), b.args...)
		b.args = b.args[:0]
	}
	if b.full != nil {
		if e := b.full.Close(); err == nil {
			err = e
		}
		b.full = nil
	}
	return err
}
