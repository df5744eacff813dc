package ingest

import (
	"strconv"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// An alert record is the Alert entity as the MDE API writes it (GET
// /api/alerts?$expand=evidence, GET /api/alerts/{id}; and `openatp export
// --kind alerts`): every property openatp models is checked strictly
// (Alert.Normalize); rbacGroupName (derived from the machine's device
// group) and properties openatp does not model — the live service's
// domains, an envelope's @odata annotations, older eras' fields — are
// skipped and counted by name ("evidence.x" inside evidence).

var (
	alertIndex    = index(wire.AlertProperties)
	alertFold     = foldIndex(wire.AlertProperties)
	evidenceIndex = index(wire.EvidenceProperties)
	evidenceFold  = foldIndex(wire.EvidenceProperties)
	commentIndex  = index(wire.CommentProperties)
	commentFold   = foldIndex(wire.CommentProperties)
)

// alert decodes one Alert record into a and normalizes it.
func (d *decoder) alert(b []byte, a *openatp.Alert) error {
	*a = openatp.Alert{}
	d.reset(b)
	var seen uint64
	err := d.lex.Object(func(key []byte) error {
		p, ok := alertIndex[string(key)]
		if !ok {
			return d.unknownProp("", key, alertFold)
		}
		name := wire.AlertProperties[p]
		if seen&(1<<p) != 0 {
			return fieldErr(name, "appears twice in the record")
		}
		seen |= 1 << p
		if wire.DerivedAlertProperty(name) {
			d.ignored.add("", key)
			return d.lex.Skip(0)
		}
		var err error
		if f := wire.AlertStringField(a, name); f != nil {
			*f, err = d.optStr(name)
			return err
		}
		if f := wire.AlertTimeField(a, name); f != nil {
			*f, err = d.optTime(name)
			return err
		}
		switch p {
		case wire.AID:
			a.ID, err = d.str(name)
		case wire.AIncidentID:
			a.IncidentID, err = d.numberOrString(name)
		case wire.AInvestigationID:
			a.InvestigationID, err = d.numberOrString(name)
		case wire.ASeverity:
			a.Severity, err = d.intern(name)
		case wire.AStatus:
			a.Status, err = d.intern(name)
		case wire.AMachineID:
			a.MachineID, err = d.str(name)
		case wire.AMitreTechniques:
			a.MitreTechniques, err = d.tags(name)
		case wire.ARelatedUser:
			if d.lex.Null() {
				return nil
			}
			a.RelatedUser = &openatp.AlertAccount{}
			err = d.account(name, "userName", a.RelatedUser)
		case wire.ALoggedOnUsers:
			err = d.list(name, func() error {
				a.LoggedOnUsers = append(a.LoggedOnUsers, openatp.AlertAccount{})
				return d.account(name, "accountName", &a.LoggedOnUsers[len(a.LoggedOnUsers)-1])
			})
		case wire.AComments:
			err = d.list(name, func() error {
				a.Comments = append(a.Comments, openatp.AlertComment{})
				return d.comment(name, &a.Comments[len(a.Comments)-1])
			})
		case wire.AEvidence:
			err = d.list(name, func() error {
				a.Evidence = append(a.Evidence, openatp.Evidence{})
				return d.evidence(name, &a.Evidence[len(a.Evidence)-1])
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
	for _, p := range []int{wire.AID, wire.AMachineID, wire.ASeverity, wire.AStatus} {
		if seen&(1<<p) == 0 {
			return fieldErr(wire.AlertProperties[p], "is required")
		}
	}
	if err := a.Normalize(); err != nil {
		return fromNormalize(err)
	}
	return nil
}

// numberOrString reads an integer, an integer in a string (the 2019
// documentation typed incidentId as String), or null.
func (d *decoder) numberOrString(field string) (*int64, error) {
	if d.lex.Peek() != '"' {
		return d.optInt(field)
	}
	s, err := d.str(field)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fieldErr(field, "must be an integer or null, got "+strconv.Quote(clip(s)))
	}
	return &n, nil
}

// list reads an array of objects, or null (an empty list), calling item
// for each element.
func (d *decoder) list(field string, item func() error) error {
	if d.lex.Null() {
		return nil
	}
	if !d.lex.Consume('[') {
		if err := d.lex.Skip(0); err != nil {
			return err
		}
		return fieldErr(field, "must be an array of objects or null")
	}
	if d.lex.Consume(']') {
		return nil
	}
	for {
		if d.lex.Peek() != '{' {
			return fieldErr(field, "must be an array of objects")
		}
		if err := item(); err != nil {
			return err
		}
		if d.lex.Consume(']') {
			return nil
		}
		if !d.lex.Consume(',') {
			return d.lex.Errorf("expected ',' or ']'")
		}
	}
}

// account reads {"<nameProp>": ..., "domainName": ...}.
func (d *decoder) account(field, nameProp string, u *openatp.AlertAccount) error {
	props := []string{nameProp, "domainName"}
	var seen uint8
	err := d.lex.Object(func(key []byte) error {
		i := -1
		for j, p := range props {
			if string(key) == p {
				i = j
			}
		}
		if i < 0 {
			return d.unknownProp(field+".", key, foldIndex(props))
		}
		name := field + "." + props[i]
		if seen&(1<<i) != 0 {
			return fieldErr(name, "appears twice in the object")
		}
		seen |= 1 << i
		var err error
		if i == 0 {
			u.Name, err = d.str(name)
		} else {
			u.Domain, err = d.optStr(name)
		}
		return err
	})
	if err == nil && seen&1 == 0 {
		err = fieldErr(field+"."+nameProp, "is required")
	}
	return err
}

// comment reads {"comment", "createdBy", "createdTime"}.
func (d *decoder) comment(field string, c *openatp.AlertComment) error {
	var seen uint8
	return d.lex.Object(func(key []byte) error {
		i, ok := commentIndex[string(key)]
		if !ok {
			return d.unknownProp(field+".", key, commentFold)
		}
		name := field + "." + wire.CommentProperties[i]
		if seen&(1<<i) != 0 {
			return fieldErr(name, "appears twice in the object")
		}
		seen |= 1 << i
		var err error
		switch i {
		case 0:
			var s *string
			if s, err = d.optStr(name); s != nil {
				c.Comment = *s
			}
		case 1:
			c.CreatedBy, err = d.optStr(name)
		case 2:
			c.CreatedTime, err = d.optTime(name)
		}
		return err
	})
}

// evidence reads one evidence item.
func (d *decoder) evidence(field string, e *openatp.Evidence) error {
	var seen uint32
	return d.lex.Object(func(key []byte) error {
		i, ok := evidenceIndex[string(key)]
		if !ok {
			return d.unknownProp(field+".", key, evidenceFold)
		}
		name := field + "." + wire.EvidenceProperties[i]
		if seen&(1<<i) != 0 {
			return fieldErr(name, "appears twice in the object")
		}
		seen |= 1 << i
		var err error
		switch f := wire.EvidenceField(e, i).(type) {
		case **string:
			*f, err = d.optStr(name)
		case **time.Time:
			*f, err = d.optTime(name)
		case **int64:
			*f, err = d.optInt(name)
		}
		return err
	})
}
