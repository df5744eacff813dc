package wire

import (
	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
)

// The properties of the Machine entity, by their index in MachineSchema
// (the documented order, which AppendMachine writes).
const (
	MID = iota
	MComputerDNSName
	MFirstSeen
	MLastSeen
	MOSPlatform
	MOSVersion
	MOSProcessor
	MVersion
	MLastIPAddress
	MLastExternalIPAddress
	MAgentVersion
	MOSBuild
	MHealthStatus
	MOnboardingStatus
	MRBACGroupID
	MRBACGroupName
	MRiskScore
	MExposureLevel
	MIsAADJoined
	MAADDeviceID
	MMachineTags
	MDeviceValue
	MIPAddresses
	MOSArchitecture
	machineProps
)

// MachineSchema is the Machine entity for OData queries: every property
// may be selected; the documented filterable ones (mde-reference §6) may be
// filtered and ordered on.
var MachineSchema = machineSchema()

func machineSchema() *odata.Schema {
	p := func(name string, k odata.Kind, filter bool, values ...string) odata.Property {
		return odata.Property{Name: name, Kind: k, Values: values, Filterable: filter, Orderable: filter && k != odata.StringCollection, Selectable: true}
	}
	props := make([]odata.Property, machineProps)
	props[MID] = p("id", odata.String, true)
	props[MComputerDNSName] = p("computerDnsName", odata.String, true)
	props[MFirstSeen] = p("firstSeen", odata.Time, false)
	props[MLastSeen] = p("lastSeen", odata.Time, true)
	props[MOSPlatform] = p("osPlatform", odata.String, true)
	props[MOSVersion] = p("osVersion", odata.String, false)
	props[MOSProcessor] = p("osProcessor", odata.String, false)
	props[MVersion] = p("version", odata.String, true)
	props[MLastIPAddress] = p("lastIpAddress", odata.String, true)
	props[MLastExternalIPAddress] = p("lastExternalIpAddress", odata.String, false)
	props[MAgentVersion] = p("agentVersion", odata.String, false)
	props[MOSBuild] = p("osBuild", odata.Int, false)
	props[MHealthStatus] = p("healthStatus", odata.Enum, true, openatp.HealthStatuses...)
	props[MOnboardingStatus] = p("onboardingStatus", odata.Enum, true, openatp.OnboardingStatuses...)
	props[MRBACGroupID] = p("rbacGroupId", odata.Int, true)
	props[MRBACGroupName] = p("rbacGroupName", odata.String, false)
	props[MRiskScore] = p("riskScore", odata.Enum, true, openatp.RiskScores...)
	props[MExposureLevel] = p("exposureLevel", odata.Enum, true, openatp.ExposureLevels...)
	props[MIsAADJoined] = p("isAadJoined", odata.Bool, false)
	props[MAADDeviceID] = p("aadDeviceId", odata.String, true)
	props[MMachineTags] = p("machineTags", odata.StringCollection, true)
	props[MDeviceValue] = p("deviceValue", odata.Enum, true, openatp.DeviceValues...)
	props[MIPAddresses] = p("ipAddresses", odata.StringCollection, false)
	props[MOSArchitecture] = p("osArchitecture", odata.Enum, false, openatp.OSArchitectures...)
	return odata.NewSchema(props...)
}

// SelectProperties appends to b the JSON object src (an entity as the
// Append functions of this package write it: compact, top-level properties
// in schema order) with only the properties whose index keep reports.
func SelectProperties(b, src []byte, keep func(i int) bool) []byte {
	b = append(b, '{')
	first := true
	i := 1 // past '{'
	for prop := 0; i < len(src) && src[i] != '}'; prop++ {
		start := i
		i = skipValue(src, i) // the name
		i++                   // ':'
		i = skipValue(src, i)
		if keep(prop) {
			if !first {
				b = append(b, ',')
			}
			b = append(b, src[start:i]...)
			first = false
		}
		if i < len(src) && src[i] == ',' {
			i++
		}
	}
	return append(b, '}')
}

// skipValue returns the index just past the compact JSON value at src[i].
func skipValue(src []byte, i int) int {
	switch src[i] {
	case '"':
		for i++; i < len(src); i++ {
			switch src[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return i
	case '{', '[':
		depth := 0
		for ; i < len(src); i++ {
			switch src[i] {
			case '"':
				i = skipValue(src, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(src) && src[i] != ',' && src[i] != '}' && src[i] != ']' {
		i++
	}
	return i
}
