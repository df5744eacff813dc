package kql

import (
	"context"
	"iter"
	"slices"
)

// NewTable returns a Table over rows held in memory, each a slice of one
// value per column (as Table's Rows yields them). It yields a copy of each
// row, so that queries may run over it at the same time.
func NewTable(name string, cols []Column, rows [][]any) Table {
	return &memTable{name: name, cols: cols, rows: rows}
}

type memTable struct {
	name string
	cols []Column
	rows [][]any
}

func (t *memTable) Name() string      { return t.name }
func (t *memTable) Columns() []Column { return t.cols }

func (t *memTable) Rows(ctx context.Context) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		for _, r := range t.rows {
			if !yield(slices.Clone(r), nil) {
				return
			}
		}
	}
}
