package vulnimport

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/vuln"
)

// A catalog record is a vulnerability, a security update or a software
// product, said by its "type" (vulnerability, securityUpdate, software)
// or told from its id: CVE-… or TVM-… a vulnerability, KB… or digits an
// update, none (with vendor and name) a product. A vulnerability lists
// the versions it affects in "affected" ([{vendor, product, version,
// fixedVersion, fixingKbId}]) or, one version a record (as CSV rows do),
// in the same properties at its top level: records of one id are then
// merged.

// catRecord is a catalog record as read.
type catRecord struct {
	typ                                          string
	id, name, description, severity, url         string
	cvss                                         *float64
	osBuild                                      *float64
	published, updated, released                 time.Time
	publicExploit, exploitVerified, exploitInKit bool
	exploitTypes, exploitURIs, products, cves    []string
	affected                                     []vuln.Affected
	flat                                         vuln.Affected // the top-level affected version
}

// catalog reads a whole catalog, then writes it (s nil: checks it).
func (d *decoder) catalog(ctx context.Context, s vuln.Store, tenantID string, rd *ingest.Reader, now time.Time, res *Result) error {
	var c vuln.Catalog
	vulnAt := map[string]int{} // index in c.Vulnerabilities, by id
	var vulnLines, updateLines []int64
	products := map[vuln.Product]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		d.line = rd.Line()
		var r catRecord
		if err := d.catRecord(rd, &r); err != nil {
			return d.fromField(err, d.line)
		}
		res.Records++
		switch typ := r.kind(); typ {
		case "vulnerability":
			v := vuln.Vulnerability{ID: r.id, Name: r.name, Description: r.description, Severity: r.severity, CVSSV3: r.cvss,
				PublishedOn: r.published, UpdatedOn: r.updated, PublicExploit: r.publicExploit, ExploitVerified: r.exploitVerified,
				ExploitInKit: r.exploitInKit, ExploitTypes: r.exploitTypes, ExploitURIs: r.exploitURIs, Affected: r.affected}
			if r.flat != (vuln.Affected{}) {
				v.Affected = append(v.Affected, r.flat)
			}
			if i, ok := vulnAt[strings.TrimSpace(r.id)]; ok && (len(r.affected) > 0 || r.flat != (vuln.Affected{})) && isCSV(rd) {
				// Another CSV row of the same vulnerability: one more affected version.
				prev := &c.Vulnerabilities[i]
				all := append(prev.Affected, v.Affected...)
				check := *prev
				check.Affected = all
				if err := check.Normalize(); err != nil {
					return d.fromField(err, d.line)
				}
				prev.Affected = all
				continue
			}
			if err := v.Normalize(); err != nil {
				return d.fromField(err, d.line)
			}
			if _, ok := vulnAt[v.ID]; ok {
				return d.errorf("id", "%s is listed twice (a record lists all of a vulnerability's affected versions)", v.ID)
			}
			vulnAt[v.ID] = len(c.Vulnerabilities)
			c.Vulnerabilities = append(c.Vulnerabilities, v)
			vulnLines = append(vulnLines, d.line)
		case "securityUpdate":
			u := vuln.SecurityUpdate{ID: r.id, Name: r.name, ReleaseDate: r.released, URL: r.url, ProductsNames: r.products, CVEs: r.cves}
			if r.osBuild != nil {
				b := int64(*r.osBuild)
				u.OSBuild = &b
			}
			if err := u.Normalize(); err != nil {
				return d.fromField(err, d.line)
			}
			c.Updates = append(c.Updates, u)
			updateLines = append(updateLines, d.line)
		case "software":
			p := vuln.Product{Vendor: r.flat.Vendor, Name: r.flat.Name}
			if p.Name == "" {
				p.Name = r.name
			}
			if err := p.Normalize(""); err != nil {
				return d.fromField(err, d.line)
			}
			if !products[p] {
				products[p] = true
				c.Products = append(c.Products, p)
			}
		default:
			return d.errorf("type", "%q is not one of vulnerability, securityUpdate, software", clip(typ))
		}
	}
	if s == nil { // Validate
		res.Vulnerabilities, res.Updates, res.Products = len(c.Vulnerabilities), len(c.Updates), len(c.Products)
		return nil
	}
	if err := s.PutCatalog(ctx, tenantID, &c, now); err != nil {
		var ie *openatp.ItemError
		if errors.As(err, &ie) {
			lines := vulnLines
			if strings.HasPrefix(err.Error(), "updates[") {
				lines = updateLines
			}
			if ie.Index < len(lines) {
				return d.fromField(err, lines[ie.Index])
			}
		}
		return err
	}
	res.Vulnerabilities, res.Updates, res.Products = len(c.Vulnerabilities), len(c.Updates), len(c.Products)
	return nil
}

// kind is the record's type, given or told from its id.
func (r *catRecord) kind() string {
	switch strings.ToLower(r.typ) {
	case "vulnerability", "vulnerabilities", "cve":
		return "vulnerability"
	case "securityupdate", "update", "kb":
		return "securityUpdate"
	case "software", "product":
		return "software"
	case "":
	default:
		return r.typ
	}
	id := strings.ToUpper(strings.TrimSpace(r.id))
	switch {
	case strings.HasPrefix(id, "CVE-"), strings.HasPrefix(id, "TVM-"):
		return "vulnerability"
	case id != "" && (strings.HasPrefix(id, "KB") || id[0] >= '0' && id[0] <= '9'):
		return "securityUpdate"
	case id == "":
		return "software"
	}
	return "vulnerability" // its id is then refused by name
}

// catRecord decodes the current record of rd.
func (d *decoder) catRecord(rd *ingest.Reader, r *catRecord) error {
	if names, cells := rd.Cells(); names != nil {
		for i, name := range names {
			if err := d.catCell(r, name, cells[i]); err != nil {
				return err
			}
		}
		return nil
	}
	d.lex.Reset(rd.Raw())
	err := d.lex.Object(func(key []byte) error {
		k := string(key)
		var err error
		switch k {
		case "type", "id", "name", "description", "severity", "url", "vendor", "product", "version", "fixedVersion", "fixingKbId":
			var s string
			if s, err = d.jstr(k); err == nil {
				err = d.catCell(r, k, s)
			}
		case "cvssV3", "osBuild":
			var v *float64
			if v, err = d.jnum(k); err == nil {
				if k == "cvssV3" {
					r.cvss = v
				} else {
					r.osBuild = v
				}
			}
		case "publishedOn", "updatedOn", "releaseDate":
			var t time.Time
			if t, err = d.jtime(k); err == nil {
				*r.timeOf(k) = t
			}
		case "publicExploit", "exploitVerified", "exploitInKit":
			var b bool
			if b, err = d.jbool(k); err == nil {
				*r.boolOf(k) = b
			}
		case "exploitTypes", "exploitUris", "productsNames", "cves":
			var l []string
			if l, err = d.jlist(k, nil); err == nil {
				*r.listOf(k) = l
			}
		case "affected":
			err = d.affected(r)
		default:
			err = d.lex.Skip(0) // exposedMachines and the other derived values of an export
		}
		return err
	})
	if err == nil {
		err = d.lex.End()
	}
	return err
}

// affected reads the affected versions.
func (d *decoder) affected(r *catRecord) error {
	if d.lex.Null() {
		return nil
	}
	if !d.lex.Consume('[') {
		return openatp.InvalidField("affected", "must be an array of objects")
	}
	if d.lex.Consume(']') {
		return nil
	}
	for i := 0; ; i++ {
		var a vuln.Affected
		field := "affected[" + strconv.Itoa(i) + "]"
		err := d.lex.Object(func(key []byte) error {
			k := string(key)
			s, err := d.jstr(field + "." + k)
			if err != nil {
				return err
			}
			switch k {
			case "vendor":
				a.Vendor = s
			case "product", "name":
				a.Name = s
			case "version":
				a.Version = s
			case "fixedVersion":
				a.FixedVersion = s
			case "fixingKbId":
				a.FixingKB = vuln.NormalizeKBID(s)
			}
			return nil
		})
		if err != nil {
			return err
		}
		r.affected = append(r.affected, a)
		if d.lex.Consume(']') {
			return nil
		}
		if !d.lex.Consume(',') {
			return d.lex.Errorf("expected ',' or ']'")
		}
	}
}

// catCell reads one property given as text (a CSV cell or a JSON string).
func (d *decoder) catCell(r *catRecord, name, v string) error {
	var err error
	switch name {
	case "type":
		r.typ = strings.TrimSpace(v)
	case "id":
		r.id = v
	case "name":
		r.name = v
	case "description":
		r.description = v
	case "severity":
		r.severity = strings.TrimSpace(v)
	case "url":
		r.url = v
	case "vendor":
		r.flat.Vendor = v
	case "product":
		r.flat.Name = v
	case "version":
		r.flat.Version = v
	case "fixedVersion":
		r.flat.FixedVersion = v
	case "fixingKbId":
		r.flat.FixingKB = vuln.NormalizeKBID(v)
	case "cvssV3":
		r.cvss, err = parseNum(name, v)
	case "osBuild":
		r.osBuild, err = parseNum(name, v)
	case "publishedOn", "updatedOn", "releaseDate":
		*r.timeOf(name), err = parseTime(name, v)
	case "publicExploit", "exploitVerified", "exploitInKit":
		*r.boolOf(name), err = parseBool(name, v)
	case "exploitTypes", "exploitUris", "productsNames", "cves":
		*r.listOf(name) = splitList(v)
	}
	return err
}

func (r *catRecord) timeOf(name string) *time.Time {
	switch name {
	case "publishedOn":
		return &r.published
	case "updatedOn":
		return &r.updated
	}
	return &r.released
}

func (r *catRecord) boolOf(name string) *bool {
	switch name {
	case "publicExploit":
		return &r.publicExploit
	case "exploitVerified":
		return &r.exploitVerified
	}
	return &r.exploitInKit
}

func (r *catRecord) listOf(name string) *[]string {
	switch name {
	case "exploitTypes":
		return &r.exploitTypes
	case "exploitUris":
		return &r.exploitURIs
	case "productsNames":
		return &r.products
	}
	return &r.cves
}

// isCSV reports whether rd reads CSV.
func isCSV(rd *ingest.Reader) bool {
	names, _ := rd.Cells()
	return names != nil
}
