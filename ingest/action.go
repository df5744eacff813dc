package ingest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// A machine action record is the MachineAction entity as the API writes
// it (the value items of GET /api/machineactions, GET
// /api/machineactions/{id}; and `openatp export --kind actions`), with
// the same property names: every property is checked, and the record as
// a whole (checkAction); properties the entity does not have, such as an
// entity's @odata.context, are skipped and counted by name. Machine
// actions are read from JSON and JSON Lines only: their commands and
// relatedFileInfo do not fit a CSV row.

var (
	actionIndex   = index(wire.ActionProperties)
	actionFold    = foldIndex(wire.ActionProperties)
	fileInfoProps = []string{"fileIdentifier", "fileIdentifierType"}
	commandProps  = []string{"index", "startTime", "endTime", "commandStatus", "errors", "command"}
	lrProps       = []string{"type", "params"}
	paramProps    = []string{"key", "value"}
)

// The properties an action record must have.
var actionRequired = []string{"id", "type", "requestor", "requestorComment", "status", "machineId", "creationDateTimeUtc", "lastUpdateDateTimeUtc"}

// action decodes one MachineAction record into a, normalizes it and
// checks it (checkAction).
func (d *decoder) action(b []byte, a *openatp.MachineAction) error {
	*a = openatp.MachineAction{}
	d.reset(b)
	var seen uint64
	err := d.lex.Object(func(key []byte) error {
		p, ok := actionIndex[string(key)]
		if !ok {
			return d.unknownProp("", key, actionFold)
		}
		name := wire.ActionProperties[p]
		if seen&(1<<p) != 0 {
			return fieldErr(name, "appears twice in the record")
		}
		seen |= 1 << p
		var err error
		switch name {
		case "id":
			a.ID, err = d.str(name)
		case "type":
			a.Type, err = d.str(name)
		case "requestor":
			a.Requestor, err = d.str(name)
		case "requestorComment":
			a.RequestorComment, err = d.str(name)
		case "status":
			a.Status, err = d.str(name)
		case "machineId":
			a.MachineID, err = d.str(name)
		case "title":
			a.Title, err = d.optStr(name)
		case "computerDnsName":
			a.ComputerDNSName, err = d.optStr(name)
		case "cancellationRequestor":
			a.CancellationRequestor, err = d.optStr(name)
		case "cancellationComment":
			a.CancellationComment, err = d.optStr(name)
		case "scope":
			a.Scope, err = d.optStr(name)
		case "externalId":
			a.ExternalID, err = d.optStr(name)
		case "requestSource":
			a.RequestSource, err = d.optStr(name)
		case "troubleshootInfo":
			a.TroubleshootInfo, err = d.optStr(name)
		case "creationDateTimeUtc":
			a.CreationDateTimeUTC, err = d.reqTime(name)
		case "lastUpdateDateTimeUtc":
			a.LastUpdateDateTimeUTC, err = d.reqTime(name)
		case "cancellationDateTimeUtc":
			a.CancellationDateTimeUTC, err = d.optTime(name)
		case "errorHResult":
			var n int32
			n, err = d.int32(name)
			a.ErrorHResult = n
		case "relatedFileInfo":
			if d.lex.Null() {
				return nil
			}
			a.RelatedFileInfo = &openatp.RelatedFileInfo{}
			err = d.fileInfo(name, a.RelatedFileInfo)
		case "commands":
			a.Commands = []openatp.ActionCommand{}
			err = d.list(name, func() error {
				i := len(a.Commands)
				a.Commands = append(a.Commands, openatp.ActionCommand{})
				return d.command(fmt.Sprintf("%s[%d]", name, i), &a.Commands[i])
			})
		}
		return err
	})
	if err == nil {
		err = d.lex.End()
	}
	if err != nil {
		return err
	}
	for _, p := range actionRequired {
		if seen&(1<<actionIndex[p]) == 0 {
			return fieldErr(p, "is required")
		}
	}
	if err := a.Normalize(); err != nil {
		return fromNormalize(err)
	}
	return checkAction(a)
}

// reqTime reads an RFC 3339 timestamp; null is an error.
func (d *decoder) reqTime(field string) (time.Time, error) {
	if d.lex.Null() {
		return time.Time{}, fieldErr(field, "must not be null")
	}
	t, err := d.optTime(field)
	if err != nil {
		return time.Time{}, err
	}
	if t == nil { // not reached: optTime reads null only
		return time.Time{}, fieldErr(field, "must not be null")
	}
	return *t, nil
}

// int32 reads a 32-bit integer; null is an error.
func (d *decoder) int32(field string) (int32, error) {
	if d.lex.Null() {
		return 0, fieldErr(field, "must not be null")
	}
	n, err := d.optInt(field)
	if err != nil {
		return 0, err
	}
	if *n < math.MinInt32 || *n > math.MaxInt32 {
		return 0, fieldErr(field, "must be a 32-bit integer, got "+strconv.FormatInt(*n, 10))
	}
	return int32(*n), nil
}

// fields reads an object of the properties props, calling f with the
// index of each; an unknown property is an error (field.name), as is one
// given twice.
func (d *decoder) fields(field string, props []string, f func(i int, name string) error) (seen uint32, err error) {
	err = d.lex.Object(func(key []byte) error {
		i := slices.Index(props, string(key))
		if i < 0 {
			return d.unknownProp(field+".", key, foldIndex(props))
		}
		name := field + "." + props[i]
		if seen&(1<<i) != 0 {
			return fieldErr(name, "appears twice in the object")
		}
		seen |= 1 << i
		return f(i, name)
	})
	return seen, err
}

// required returns the error of the first of props that seen lacks.
func required(field string, props []string, seen uint32) error {
	for i, p := range props {
		if seen&(1<<i) == 0 {
			return fieldErr(field+"."+p, "is required")
		}
	}
	return nil
}

// fileInfo reads {"fileIdentifier", "fileIdentifierType"}.
func (d *decoder) fileInfo(field string, f *openatp.RelatedFileInfo) error {
	seen, err := d.fields(field, fileInfoProps, func(i int, name string) (err error) {
		if i == 0 {
			f.FileIdentifier, err = d.str(name)
		} else {
			f.FileIdentifierType, err = d.str(name)
		}
		return err
	})
	if err != nil {
		return err
	}
	return required(field, fileInfoProps, seen)
}

// command reads one command of a live response action.
func (d *decoder) command(field string, c *openatp.ActionCommand) error {
	seen, err := d.fields(field, commandProps, func(i int, name string) (err error) {
		switch i {
		case 0:
			var n int32
			n, err = d.int32(name)
			c.Index = int(n)
		case 1:
			c.StartTime, err = d.optTime(name)
		case 2:
			c.EndTime, err = d.optTime(name)
		case 3:
			c.CommandStatus, err = d.str(name)
		case 4:
			c.Errors, err = d.tags(name)
		case 5:
			var seen uint32
			seen, err = d.fields(name, lrProps, func(i int, name string) (err error) {
				if i == 0 {
					c.Command.Type, err = d.str(name)
					return err
				}
				return d.list(name, func() error {
					var p openatp.CommandParam
					seen, err := d.fields(name, paramProps, func(i int, name string) (err error) {
						if i == 0 {
							p.Key, err = d.str(name)
						} else {
							p.Value, err = d.str(name)
						}
						return err
					})
					if err == nil {
						err = required(name, paramProps, seen)
					}
					c.Command.Params = append(c.Command.Params, p)
					return err
				})
			})
			if err == nil && seen&1 == 0 {
				err = fieldErr(name+".type", "is required")
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, i := range []int{0, 3, 5} { // index, commandStatus, command
		if seen&(1<<i) == 0 {
			return fieldErr(field+"."+commandProps[i], "is required")
		}
	}
	return nil
}

// The identifier types of relatedFileInfo, with their lengths in
// hexadecimal digits.
var fileIdentifierTypes = map[string]int{"Sha1": 40, "Sha256": 64, "Md5": 32}

// checkAction checks a normalized action record as a whole: what its
// status, type and times imply of its other properties.
func checkAction(a *openatp.MachineAction) error {
	if a.CreationDateTimeUTC.After(a.LastUpdateDateTimeUTC) {
		return fieldErr("creationDateTimeUtc", "is later than lastUpdateDateTimeUtc")
	}
	if a.Status == openatp.ActionCancelled {
		switch {
		case a.CancellationRequestor == nil:
			return fieldErr("cancellationRequestor", "a Cancelled action names who cancelled it")
		case a.CancellationDateTimeUTC == nil:
			return fieldErr("cancellationDateTimeUtc", "a Cancelled action has the time it was cancelled")
		case a.CancellationDateTimeUTC.Before(a.CreationDateTimeUTC) || a.CancellationDateTimeUTC.After(a.LastUpdateDateTimeUTC):
			return fieldErr("cancellationDateTimeUtc", "is not between creationDateTimeUtc and lastUpdateDateTimeUtc")
		}
	} else {
		for _, f := range []struct {
			name string
			set  bool
		}{{"cancellationRequestor", a.CancellationRequestor != nil}, {"cancellationComment", a.CancellationComment != nil},
			{"cancellationDateTimeUtc", a.CancellationDateTimeUTC != nil}} {
			if f.set {
				return fieldErr(f.name, "must be null: the action is "+a.Status+", not Cancelled")
			}
		}
	}
	switch {
	case a.Status == openatp.ActionFailed && a.ErrorHResult == 0:
		return fieldErr("errorHResult", "a Failed action has the nonzero code of its failure")
	case !a.Final() && a.ErrorHResult != 0:
		return fieldErr("errorHResult", "must be 0: the action is "+a.Status+", it has not failed")
	}
	if a.Scope != nil {
		var scopes []string
		switch a.Type {
		case openatp.ActionIsolate:
			scopes = openatp.IsolationTypes
		case openatp.ActionRunAntiVirusScan:
			scopes = openatp.ScanTypes
		}
		if scopes != nil && !slices.Contains(scopes, *a.Scope) {
			return fieldErr("scope", strconv.Quote(clip(*a.Scope))+" is not one of "+strings.Join(scopes, ", ")+" (the scope of "+a.Type+")")
		}
	}
	if f := a.RelatedFileInfo; f != nil {
		n, ok := fileIdentifierTypes[f.FileIdentifierType]
		if !ok {
			return fieldErr("relatedFileInfo.fileIdentifierType", strconv.Quote(clip(f.FileIdentifierType))+" is not one of Sha1, Sha256, Md5")
		}
		if len(f.FileIdentifier) != n || strings.Trim(strings.ToLower(f.FileIdentifier), "0123456789abcdef") != "" {
			return fieldErr("relatedFileInfo.fileIdentifier", fmt.Sprintf("must be %d hexadecimal digits (a %s), got %q", n, f.FileIdentifierType, clip(f.FileIdentifier)))
		}
	} else if a.Type == openatp.ActionStopAndQuarantineFile {
		return fieldErr("relatedFileInfo", "a StopAndQuarantineFile action names its file")
	}
	if a.Type != openatp.ActionLiveResponse {
		if len(a.Commands) > 0 {
			return fieldErr("commands", "must be empty: only a LiveResponse action has commands")
		}
		return nil
	}
	if len(a.Commands) == 0 {
		return fieldErr("commands", "a LiveResponse action has at least one command")
	}
	for i := range a.Commands {
		c := &a.Commands[i]
		name := fmt.Sprintf("commands[%d]", i)
		switch {
		case c.Index != i:
			return fieldErr(name+".index", fmt.Sprintf("is %d, want %d: commands are listed in the order of their indexes, from 0", c.Index, i))
		case !slices.Contains([]string{openatp.CommandCreated, openatp.CommandCompleted, openatp.CommandFailed}, c.CommandStatus):
			return fieldErr(name+".commandStatus", strconv.Quote(clip(c.CommandStatus))+" is not one of Created, Completed, Failed")
		case !slices.Contains(openatp.LiveResponseCommands, c.Command.Type):
			return fieldErr(name+".command.type", strconv.Quote(clip(c.Command.Type))+" is not one of "+strings.Join(openatp.LiveResponseCommands, ", "))
		case c.StartTime != nil && c.EndTime != nil && c.EndTime.Before(*c.StartTime):
			return fieldErr(name+".endTime", "is earlier than startTime")
		}
	}
	return nil
}
