package odata_test

import (
	"slices"
	"time"

	"github.com/openatp/openatp/odata"
)

// The properties of the test schema, a Machine as in the MDE docs (§2.1,
// §6), plus firstSeen (not filterable), isAadJoined (a Bool) and osBuild
// (filterable only).
const (
	pID = iota
	pDNS
	pVersion
	pDeviceValue
	pAAD
	pTags
	pLastSeen
	pExposure
	pOnboarding
	pLastIP
	pHealth
	pOS
	pRisk
	pRbac
	pFirstSeen
	pIsAAD
	pOsBuild
)

func prop(name string, k odata.Kind, values ...string) odata.Property {
	return odata.Property{Name: name, Kind: k, Values: values, Filterable: true, Orderable: k != odata.StringCollection, Selectable: true}
}

var machines = odata.NewSchema(
	prop("id", odata.String),
	prop("computerDnsName", odata.String),
	prop("version", odata.String),
	prop("deviceValue", odata.Enum, "Normal", "Low", "High"),
	prop("aadDeviceId", odata.String),
	prop("machineTags", odata.StringCollection),
	prop("lastSeen", odata.Time),
	prop("exposureLevel", odata.Enum, "None", "Low", "Medium", "High"),
	prop("onboardingStatus", odata.Enum, "Onboarded", "CanBeOnboarded", "Unsupported", "InsufficientInfo"),
	prop("lastIpAddress", odata.String),
	prop("healthStatus", odata.Enum, "Active", "Inactive", "ImpairedCommunication", "NoSensorData", "NoSensorDataImpairedCommunication", "Unknown"),
	prop("osPlatform", odata.String),
	prop("riskScore", odata.Enum, "None", "Informational", "Low", "Medium", "High"),
	prop("rbacGroupId", odata.Int),
	odata.Property{Name: "firstSeen", Kind: odata.Time, Orderable: true, Selectable: true},
	prop("isAadJoined", odata.Bool),
	odata.Property{Name: "osBuild", Kind: odata.Int, Filterable: true},
)

// machine is a test entity. Its strings are null when empty, its
// numbers and times when zero; isAadJoined is null when aadNull is set.
type machine struct {
	id, dns, version, deviceValue, aad string
	tags                               []string
	lastSeen                           time.Time
	exposure, onboarding, lastIP       string
	health, os, risk                   string
	rbac                               int64
	firstSeen                          time.Time
	isAAD, aadNull                     bool
	osBuild                            int64
}

func (m *machine) String(p int) (string, bool) {
	var v string
	switch p {
	case pID:
		v = m.id
	case pDNS:
		v = m.dns
	case pVersion:
		v = m.version
	case pDeviceValue:
		v = m.deviceValue
	case pAAD:
		v = m.aad
	case pExposure:
		v = m.exposure
	case pOnboarding:
		v = m.onboarding
	case pLastIP:
		v = m.lastIP
	case pHealth:
		v = m.health
	case pOS:
		v = m.os
	case pRisk:
		v = m.risk
	}
	return v, v != ""
}

func (m *machine) Int(p int) (int64, bool) {
	v := m.rbac
	if p == pOsBuild {
		v = m.osBuild
	}
	return v, v != 0
}

func (m *machine) Time(p int) (int64, bool) {
	t := m.lastSeen
	if p == pFirstSeen {
		t = m.firstSeen
	}
	return t.UnixNano(), !t.IsZero()
}

func (m *machine) Bool(int) (bool, bool) { return m.isAAD, !m.aadNull }

func (m *machine) Strings(int) []string { return m.tags }

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fleet is the machines the filter tests run over.
var fleet = []*machine{
	{id: "m1", dns: "mymachine1.contoso.com", version: "1709", deviceValue: "Normal", tags: []string{"ExampleTag", "Prod"},
		lastSeen: date("2019-12-01T00:00:00Z"), exposure: "High", onboarding: "Onboarded", lastIP: "10.0.0.1",
		health: "Active", os: "Windows10", risk: "High", rbac: 22, firstSeen: date("2018-01-01T00:00:00Z"), isAAD: true, osBuild: 19041},
	{id: "m2", dns: "mymachine2.contoso.com", version: "1901", deviceValue: "High", aad: "80fe8ff8-2624-418e-9591-41f0491218f9",
		lastSeen: date("2018-09-01T12:30:00.5Z"), exposure: "Low", onboarding: "CanBeOnboarded", lastIP: "10.0.0.2",
		health: "Inactive", os: "Linux", risk: "Low", rbac: 22},
	{id: "m3", dns: "server.fabrikam.com", aad: "O'Brien", tags: []string{"exampletag2"}, onboarding: "Unsupported",
		health: "NoSensorData", os: "WindowsServer2019", aadNull: true},
	{id: "m4", dns: "MyMachine4.CONTOSO.com", version: "22H2", tags: []string{"ExampleTag"}, lastSeen: date("2019-11-22T00:00:00Z"),
		exposure: "Medium", onboarding: "InsufficientInfo", lastIP: "fe80::1", health: "ImpairedCommunication",
		os: "Windows11", risk: "Informational", rbac: 5, osBuild: 22621},
}

// matching returns the ids of the fleet's machines f matches.
func matching(f *odata.Filter) []string {
	ids := []string{}
	for _, m := range fleet {
		if f.Match(m) {
			ids = append(ids, m.id)
		}
	}
	slices.Sort(ids)
	return ids
}
