// Package actionrequest holds the request bodies of the response-action
// routes (POST /api/machines/{id}/<action>, runliveresponse): API shapes,
// not domain rules, checked and made into openatp.MachineActions. The
// handlers of responseapi parse them; the store conformance suite, the
// demo data and the tests build actions with them.
package actionrequest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/observable"
)

// Request is a request to start an action: the body of POST
// /api/machines/{id}/<action>, with the type its route names.
type Request struct {
	Type          string
	Comment       string
	IsolationType string // Isolate: Full (the default), Selective or UnManagedDevice
	ScanType      string // RunAntiVirusScan: Quick or Full, required
	Sha1          string // StopAndQuarantineFile: the file, required
}

// missingParameter is the error of a required body parameter that is
// absent (MissingRequiredParameter, as the service answers).
func missingParameter(field string) *openatp.Error {
	fe := &openatp.FieldError{Field: field, Reason: "is missing"}
	return &openatp.Error{Kind: openatp.Invalid, Code: "MissingRequiredParameter", Message: "Parameter " + field + " is missing.", Err: fe}
}

// invalidBody is the error of a body parameter with a value the service
// does not take (InvalidRequestBody, naming the parameter).
func invalidBody(field, format string, args ...any) *openatp.Error {
	fe := &openatp.FieldError{Field: field, Reason: sprintf(format, args...)}
	return &openatp.Error{Kind: openatp.Invalid, Code: "InvalidRequestBody", Message: "Invalid request body: " + fe.Error(), Err: fe}
}

// Validate checks the request and canonicalizes it in place: enum values
// are matched ignoring case and take their documented spelling, the
// isolation type defaults to Full, the hash is lower-cased. The error is
// of kind Invalid and names the body parameter (a *FieldError): code
// MissingRequiredParameter for a missing Comment, ScanType or Sha1,
// InvalidHashValue for a Sha1 that is not 40 hexadecimal digits,
// InvalidRequestBody for an unknown type or value.
func (r *Request) Validate() error {
	if !slices.Contains(openatp.ActionTypes, r.Type) {
		return invalidBody("type", "%q is not an action type", clip(r.Type))
	}
	if r.Comment == "" {
		return missingParameter("Comment")
	}
	if err := openatp.CheckText("Comment", &r.Comment); err != nil {
		return err
	}
	switch r.Type {
	case openatp.ActionIsolate:
		if r.IsolationType == "" {
			r.IsolationType = "Full"
		}
		v, ok := openatp.CanonicalEnum(openatp.IsolationTypes, r.IsolationType)
		if !ok {
			return invalidBody("IsolationType", "%q is not one of %s", clip(r.IsolationType), strings.Join(openatp.IsolationTypes, ", "))
		}
		r.IsolationType = v
	case openatp.ActionRunAntiVirusScan:
		if r.ScanType == "" {
			return missingParameter("ScanType")
		}
		v, ok := openatp.CanonicalEnum(openatp.ScanTypes, r.ScanType)
		if !ok {
			return invalidBody("ScanType", "%q is not one of %s", clip(r.ScanType), strings.Join(openatp.ScanTypes, ", "))
		}
		r.ScanType = v
	case openatp.ActionStopAndQuarantineFile:
		if r.Sha1 == "" {
			return missingParameter("Sha1")
		}
		h := strings.ToLower(r.Sha1)
		if !observable.IsHex(h, observable.SHA1Len) {
			fe := &openatp.FieldError{Field: "Sha1", Reason: "must be 40 hexadecimal digits"}
			return &openatp.Error{Kind: openatp.Invalid, Code: "InvalidHashValue", Message: "Hash value " + clip(r.Sha1) + " is invalid.", Err: fe}
		}
		r.Sha1 = h
	}
	return nil
}

// Action validates the request (Validate) and returns the new action it
// starts on machine m: Pending, with a fresh id, the requestor and
// requestSource given, the scope of an isolation or a scan and the file of
// a quarantine. Its times are the store's to stamp.
func (r Request) Action(m *openatp.Machine, requestor, requestSource string) (openatp.MachineAction, error) {
	if err := r.Validate(); err != nil {
		return openatp.MachineAction{}, err
	}
	a := openatp.MachineAction{ID: openatp.NewGUID(), Type: r.Type, Requestor: requestor, RequestorComment: r.Comment, Status: openatp.ActionPending,
		MachineID: m.ID, ComputerDNSName: m.ComputerDNSName, Commands: []openatp.ActionCommand{}}
	if requestSource != "" {
		a.RequestSource = &requestSource
	}
	switch r.Type {
	case openatp.ActionIsolate:
		a.Scope = openatp.Ptr(r.IsolationType)
	case openatp.ActionRunAntiVirusScan:
		a.Scope = openatp.Ptr(r.ScanType)
	case openatp.ActionStopAndQuarantineFile:
		a.RelatedFileInfo = &openatp.RelatedFileInfo{FileIdentifier: r.Sha1, FileIdentifierType: "Sha1"}
	}
	return a, nil
}

// commandParams are the parameters of each command type, the required
// one first.
var commandParams = map[string][]string{
	openatp.CommandPutFile:   {"FileName"},
	openatp.CommandRunScript: {"ScriptName", "Args"},
	openatp.CommandGetFile:   {"Path"},
}

// LiveResponse is the body of POST
// /api/machines/{id}/runliveresponse.
type LiveResponse struct {
	Comment  string
	Commands []openatp.LiveResponseCommand
}

// Validate checks the request and canonicalizes it in place: command
// types and parameter keys are matched ignoring case and take their
// documented spelling. The error is of kind Invalid and names the body
// parameter: MissingRequiredParameter for a missing Comment, Commands or
// required parameter; InvalidRequestBody for an unknown command or
// parameter, or commands out of the documented order.
func (r *LiveResponse) Validate() error {
	if r.Comment == "" {
		return missingParameter("Comment")
	}
	if err := openatp.CheckText("Comment", &r.Comment); err != nil {
		return err
	}
	if len(r.Commands) == 0 {
		return missingParameter("Commands")
	}
	if len(r.Commands) > openatp.MaxAlertItems {
		return invalidBody("Commands", "a live response has at most %d commands", openatp.MaxAlertItems)
	}
	rank := 0
	for i := range r.Commands {
		c := &r.Commands[i]
		field := "Commands[" + strconv.Itoa(i) + "]"
		typ, ok := openatp.CanonicalEnum(openatp.LiveResponseCommands, c.Type)
		if !ok {
			return invalidBody(field+".type", "%q is not one of %s", clip(c.Type), strings.Join(openatp.LiveResponseCommands, ", "))
		}
		c.Type = typ
		k := 0
		for k < len(openatp.LiveResponseCommands) && openatp.LiveResponseCommands[k] != typ {
			k++
		}
		if k < rank {
			return invalidBody("Commands", "%s %d comes after a %s: the order is PutFile, RunScript, GetFile", typ, i, openatp.LiveResponseCommands[rank])
		}
		rank = k
		keys := commandParams[typ]
		for j := range c.Params {
			p := &c.Params[j]
			key, ok := openatp.CanonicalEnum(keys, p.Key)
			if !ok {
				return invalidBody(field+".params", "%q is not a parameter of %s (%s)", clip(p.Key), typ, strings.Join(keys, ", "))
			}
			p.Key = key
			if err := openatp.CheckText(field+".params."+key, &p.Value); err != nil {
				return err
			}
		}
		if c.Param(keys[0]) == "" {
			return missingParameter(field + ".params." + keys[0])
		}
	}
	return nil
}

// Action validates the request and returns the new live response action
// it starts on machine m: Pending, its commands Created, in order.
func (r LiveResponse) Action(m *openatp.Machine, requestor, requestSource string) (openatp.MachineAction, error) {
	if err := r.Validate(); err != nil {
		return openatp.MachineAction{}, err
	}
	a := openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionLiveResponse, Requestor: requestor, RequestorComment: r.Comment,
		Status: openatp.ActionPending, MachineID: m.ID, ComputerDNSName: m.ComputerDNSName, Commands: make([]openatp.ActionCommand, len(r.Commands))}
	if requestSource != "" {
		a.RequestSource = &requestSource
	}
	for i, c := range r.Commands {
		a.Commands[i] = openatp.ActionCommand{Index: i, CommandStatus: openatp.CommandCreated, Errors: []string{}, Command: c}
	}
	return a, nil
}

// clip shortens a value an error message quotes, as the domain's do.
func clip(s string) string { return openatp.Clip(s, 64) }

// sprintf is fmt.Sprintf, with a format and no arguments taken as it is.
func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}
