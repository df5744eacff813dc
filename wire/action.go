package wire

import (
	"strconv"
	"time"

	"github.com/openatp/openatp"
)

// ActionProperties are the properties of the MachineAction entity, in
// the order AppendMachineAction writes them (the live service's).
var ActionProperties = []string{"id", "type", "title", "requestor", "requestorComment", "status", "machineId", "computerDnsName",
	"creationDateTimeUtc", "lastUpdateDateTimeUtc", "cancellationRequestor", "cancellationComment", "cancellationDateTimeUtc",
	"errorHResult", "scope", "externalId", "requestSource", "relatedFileInfo", "commands", "troubleshootInfo"}

// AppendMachineAction appends the JSON of a machine action (the
// MachineAction entity of GET /api/machineactions), its properties in the order
// the live service sends them; times with 7 fractional digits, as the
// documented example.
func AppendMachineAction(b []byte, a *openatp.MachineAction) []byte {
	str := func(name string, s string) {
		b = append(b, `,"`+name+`":`...)
		b = AppendString(b, s)
	}
	opt := func(name string, s *string) {
		b = append(b, `,"`+name+`":`...)
		b = AppendStringPtr(b, s)
	}
	tm := func(name string, t *time.Time) {
		b = append(b, `,"`+name+`":`...)
		b = AppendTime(b, t)
	}
	b = append(b, `{"id":`...)
	b = AppendString(b, a.ID)
	str("type", a.Type)
	opt("title", a.Title)
	str("requestor", a.Requestor)
	str("requestorComment", a.RequestorComment)
	str("status", a.Status)
	str("machineId", a.MachineID)
	opt("computerDnsName", a.ComputerDNSName)
	tm("creationDateTimeUtc", &a.CreationDateTimeUTC)
	tm("lastUpdateDateTimeUtc", &a.LastUpdateDateTimeUTC)
	opt("cancellationRequestor", a.CancellationRequestor)
	opt("cancellationComment", a.CancellationComment)
	tm("cancellationDateTimeUtc", a.CancellationDateTimeUTC)
	b = append(b, `,"errorHResult":`...)
	b = strconv.AppendInt(b, int64(a.ErrorHResult), 10)
	opt("scope", a.Scope)
	opt("externalId", a.ExternalID)
	opt("requestSource", a.RequestSource)
	b = append(b, `,"relatedFileInfo":`...)
	if f := a.RelatedFileInfo; f != nil {
		b = append(b, `{"fileIdentifier":`...)
		b = AppendString(b, f.FileIdentifier)
		b = append(b, `,"fileIdentifierType":`...)
		b = AppendString(b, f.FileIdentifierType)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"commands":[`...)
	for i, c := range a.Commands {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(c.Index), 10)
		tm("startTime", c.StartTime)
		tm("endTime", c.EndTime)
		str("commandStatus", c.CommandStatus)
		b = append(b, `,"errors":[`...)
		for j, e := range c.Errors {
			if j > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, e)
		}
		b = append(b, `],"command":{"type":`...)
		b = AppendString(b, c.Command.Type)
		b = append(b, `,"params":[`...)
		for j, p := range c.Command.Params {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = AppendString(b, p.Key)
			b = append(b, `,"value":`...)
			b = AppendString(b, p.Value)
			b = append(b, '}')
		}
		b = append(b, "]}}"...)
	}
	b = append(b, ']')
	opt("troubleshootInfo", a.TroubleshootInfo)
	return append(b, '}')
}
