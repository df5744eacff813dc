package kql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openatp/openatp/kql"
)

// A query runs over tables given to it: here one held in memory.
func Example() {
	logons := kql.NewTable("DeviceLogonEvents", []kql.Column{
		{Name: "Timestamp", Type: kql.DateTime},
		{Name: "AccountName", Type: kql.String},
		{Name: "ActionType", Type: kql.String},
	}, [][]any{
		{time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), "alice", "LogonSuccess"},
		{time.Date(2026, 12, 7, 9, 5, 0, 0, time.UTC), "admin", "LogonFailed"},
		{time.Date(2026, 12, 7, 9, 6, 0, 0, time.UTC), "admin", "LogonFailed"},
		{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "admin", "LogonFailed"},
	})
	res, err := kql.Run(context.Background(), `
		DeviceLogonEvents
		| where Timestamp > ago(7d) and ActionType == "LogonFailed"
		| summarize count(), Last = max(Timestamp) by AccountName`,
		[]kql.Table{logons}, kql.Options{Now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))

	_, err = kql.Run(context.Background(), "DeviceLogonEvents\n| render timechart", []kql.Table{logons}, kql.Options{})
	fmt.Println(err)
	// Output:
	// {"Schema":[{"Name":"AccountName","Type":"String"},{"Name":"count_","Type":"Int64"},{"Name":"Last","Type":"DateTime"}],"Results":[{"AccountName":"admin","count_":2,"Last":"2026-12-07T09:06:00Z"}]}
	// 2:3: operator render is not supported
}
